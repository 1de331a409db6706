// Test specs for views and copies: view/reshape, permute, slice (and select, narrow), expand, to_device and
// copy (clone, to(dtype), contiguous). References index the row-major float64 input with plain loops; a view
// and a copy must give the same values, so the harness checks values, and the gradchecks check that each
// view's backward maps gradients back through the inverse stride arithmetic. Stride and storage sharing
// themselves are checked in tests/unit/tensor_test.cpp.
#include <algorithm>
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

std::vector<int64_t> ints(const std::vector<double>& values, size_t from = 0) {
  std::vector<int64_t> out;
  for (size_t i = from; i < values.size(); ++i) out.push_back(static_cast<int64_t>(values[i]));
  return out;
}

// ---- view / reshape: params {0 = view, 1 = reshape, target dims...} ----

// Same values in the same row-major order, under the target shape (one -1 resolved).
Ref reshaped_ref(const Ref& x, std::vector<int64_t> dims) {
  int64_t known = 1;
  for (int64_t d : dims)
    if (d != -1) known *= d;
  for (int64_t& d : dims)
    if (d == -1) d = x.numel() / known;
  Ref out = x;
  out.shape = Shape(dims);
  return out;
}

TRIFECTA_OP_SPEC({
    .op = OpId::view,
    .cases = {{"view_contiguous", {{{2, 3, 4}}}, {0, 6, 4}},
              {"view_inferred_dim", {{{2, 3, 4}}}, {0, -1, 12}},
              {"view_split_dim", {{{6, 4}}}, {0, 2, 3, 1, 4}},
              {"view_scalar_to_vector", {{{}}}, {0, 1}},
              {"view_transposed_keeps_chunk", {{{3, 2, 5}, Domain::Normal, Layout::Transposed}}, {0, 3, 2, 5, 1}},
              {"reshape_transposed_copies", {{{3, 4}, Domain::Normal, Layout::Transposed}}, {1, 12}},
              {"reshape_strided_copies", {{{3, 4}, Domain::Normal, Layout::Strided}}, {1, 2, 6}},
              {"reshape_expanded_copies", {{{4, 3}, Domain::Normal, Layout::Expanded}}, {1, 3, -1}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const Shape shape(ints(c.params, 1));
      return TensorList{c.params[0] == 0 ? in[0].view(shape) : in[0].reshape(shape)};
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      return std::vector<Ref>{reshaped_ref(in[0], ints(c.params, 1))};
    },
    .dtypes = kAllFloating,
});

// ---- permute: params = the permutation (may be negative) ----

TRIFECTA_OP_SPEC({
    .op = OpId::permute,
    .cases = {{"rank3", {{{2, 3, 4}}}, {2, 0, 1}},
              {"negative_dims", {{{2, 3, 4}}}, {-1, -3, -2}},
              {"transposed_input", {{{3, 4, 5}, Domain::Normal, Layout::Transposed}}, {1, 2, 0}},
              {"strided_input", {{{2, 3, 4}, Domain::Normal, Layout::Strided}}, {2, 1, 0}},
              {"matrix", {{{3, 5}}}, {1, 0}},
              {"identity", {{{4, 3}}}, {0, 1}}},
    .run = [](const TensorList& in, const OpCase& c) { return TensorList{in[0].permute(ints(c.params))}; },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const Ref& x = in[0];
      const int ndim = x.shape.size();
      std::vector<int> perm;
      for (int64_t p : ints(c.params)) perm.push_back(static_cast<int>(p < 0 ? p + ndim : p));
      Shape shape;
      for (int d = 0; d < ndim; ++d) shape.push_back(x.shape[perm[d]]);
      Ref out(shape);
      for_each_index(shape, [&](const std::vector<int64_t>& i) {
        std::vector<int64_t> source(ndim);
        for (int d = 0; d < ndim; ++d) source[perm[d]] = i[d];
        out.at(i) = x.at(source);
      });
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

// ---- slice, select, narrow: params {0 = slice, dim, start, end, step} | {1 = select, dim, index}
//      | {2 = narrow, dim, start, length} ----

// Python slicing of one dim: negative bounds count from the end, out-of-range bounds clamp.
Ref sliced_ref(const Ref& x, int dim, int64_t start, int64_t end, int64_t step) {
  const int64_t size = x.shape[dim];
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, 0, size);
  std::vector<int64_t> picked;
  for (int64_t i = start; i < end; i += step) picked.push_back(i);
  Shape shape = x.shape;
  shape[dim] = static_cast<int64_t>(picked.size());
  Ref out(shape);
  for_each_index(shape, [&](const std::vector<int64_t>& i) {
    std::vector<int64_t> source = i;
    source[dim] = picked[static_cast<size_t>(i[dim])];
    out.at(i) = x.at(source);
  });
  return out;
}

TRIFECTA_OP_SPEC({
    .op = OpId::slice,
    .cases = {{"step2", {{{7, 4}}}, {0, 0, 1, 7, 2}},
              {"negative_bounds", {{{5, 6}}}, {0, 1, -4, -1, 1}},
              {"step3_clamped_bounds", {{{3, 10}}}, {0, -1, -100, 100, 3}},
              {"strided_input_step2", {{{4, 5}, Domain::Normal, Layout::Strided}}, {0, 1, 0, 5, 2}},
              {"transposed_input", {{{4, 6}, Domain::Normal, Layout::Transposed}}, {0, 0, 1, 3, 1}},
              {"rank3_middle_dim", {{{2, 5, 3}}}, {0, 1, 1, 5, 3}},
              {"select_negative_index", {{{4, 5}}}, {1, 0, -1}},
              {"select_transposed", {{{3, 4}, Domain::Normal, Layout::Transposed}}, {1, 1, 2}},
              {"narrow", {{{6, 3}}}, {2, 0, 2, 3}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const std::vector<int64_t> p = ints(c.params);
      switch (p[0]) {
        case 0: return TensorList{in[0].slice(p[1], p[2], p[3], p[4])};
        case 1: return TensorList{in[0].select(p[1], p[2])};
        default: return TensorList{in[0].narrow(p[1], p[2], p[3])};
      }
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const std::vector<int64_t> p = ints(c.params);
      const Ref& x = in[0];
      const int dim = static_cast<int>(p[1] < 0 ? p[1] + x.shape.size() : p[1]);
      if (p[0] == 0) return std::vector<Ref>{sliced_ref(x, dim, p[2], p[3], p[4])};
      if (p[0] == 2) return std::vector<Ref>{sliced_ref(x, dim, p[2], p[2] + p[3], 1)};
      const int64_t index = p[2] < 0 ? p[2] + x.shape[dim] : p[2];
      Ref one = sliced_ref(x, dim, index, index + 1, 1);
      one.shape.erase(dim);
      return std::vector<Ref>{one};
    },
    .dtypes = kAllFloating,
});

// ---- expand: params = the target shape (-1 keeps a dim) ----

TRIFECTA_OP_SPEC({
    .op = OpId::expand,
    .cases = {{"new_leading_dims", {{{3, 1}}}, {2, 3, 4}},
              {"keep_with_minus_one", {{{1, 4}}}, {3, -1}},
              {"scalar_to_matrix", {{{}}}, {2, 3}},
              {"transposed_input", {{{4, 1}, Domain::Normal, Layout::Transposed}}, {2, 4, 3}},
              {"strided_input", {{{1, 3}, Domain::Normal, Layout::Strided}}, {5, 3}},
              {"expand_expanded", {{{4, 1}, Domain::Normal, Layout::Expanded}}, {3, 4, 2}}},
    .run = [](const TensorList& in, const OpCase& c) { return TensorList{in[0].expand(Shape(ints(c.params)))}; },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const Ref& x = in[0];
      Shape shape(ints(c.params));
      const int lead = shape.size() - x.shape.size();
      for (int d = lead; d < shape.size(); ++d)
        if (shape[d] == -1) shape[d] = x.shape[d - lead];
      Ref out(shape);
      for_each_index(shape, [&](const std::vector<int64_t>& i) {
        std::vector<int64_t> source(x.shape.size());
        for (int d = 0; d < x.shape.size(); ++d) source[d] = x.shape[d] == 1 ? 0 : i[d + lead];
        out.at(i) = x.at(source);
      });
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

// ---- to_device: a round trip through the other device (CPU -> CUDA -> CPU for CPU inputs) ----

TRIFECTA_OP_SPEC({
    .op = OpId::to_device,
    .cases = {{"matrix", {{{3, 4}}}},
              {"transposed", {{{4, 5}, Domain::Normal, Layout::Transposed}}},
              {"strided", {{{2, 3, 4}, Domain::Normal, Layout::Strided}}},
              {"expanded", {{{4, 3}, Domain::Normal, Layout::Expanded}}},
              {"scalar", {{{}}}}},
    .run = [](const TensorList& in, const OpCase&) {
      const Device home = in[0].device();
      return TensorList{in[0].to(home.is_cpu() ? kCUDA : kCPU).to(home)};
    },
    .reference = [](const std::vector<Ref>& in, const OpCase&) { return std::vector<Ref>{in[0]}; },
    .dtypes = kAllFloating,
    .needs_cuda = true,
});

// ---- copy: params {0 = clone, 1 = to(float64), 2 = contiguous(), 3 = to(int32), 4 = to(int64), 5 = to(bool)} ----
// to(float64) widens float32, bfloat16 and float16 exactly (and is the identity for float64). Narrowing
// float64 -> float32 cannot be gradchecked by finite differences (the rounding is a step function at the
// gradcheck's step size); tests/unit/tensor_test.cpp and autograd_test.cpp cover it. The integer targets
// take Domain::Extreme inputs (NaN, infinities, values far past int64): the rule of tensor/half.h, which
// CUDA must follow too (its conversion instructions alone would saturate, and turn NaN into 0).

// Float to an integer of `bits` bits: truncation when it fits, else the type's minimum.
double to_integer_ref(double x, int bits) {
  const double limit = std::ldexp(1.0, bits - 1), truncated = std::trunc(x);
  return truncated >= -limit && truncated < limit ? truncated : -limit;
}

Ref converted_ref(const Ref& x, int target) {
  switch (target) {
    case 3: return map_ref(x, [](double v) { return to_integer_ref(v, 32); });
    case 4: return map_ref(x, [](double v) { return to_integer_ref(v, 64); });
    case 5: return map_ref(x, [](double v) { return v != 0 ? 1.0 : 0.0; });  // NaN != 0: true
    default: return x;
  }
}

TRIFECTA_OP_SPEC({
    .op = OpId::copy,
    .cases = {{"clone_transposed", {{{3, 4}, Domain::Normal, Layout::Transposed}}, {0}},
              {"clone_strided", {{{2, 3, 4}, Domain::Normal, Layout::Strided}}, {0}},
              {"clone_expanded", {{{4, 3}, Domain::Normal, Layout::Expanded}}, {0}},
              {"clone_scalar", {{{}}}, {0}},
              {"to_float64", {{{3, 4}}}, {1}},
              {"to_float64_transposed", {{{3, 5}, Domain::Normal, Layout::Transposed}}, {1}},
              {"contiguous_transposed", {{{4, 5}, Domain::Normal, Layout::Transposed}}, {2}},
              {"contiguous_already", {{{4, 5}}}, {2}},
              {"to_int32_extreme", {{{5, 7}, Domain::Extreme}}, {3}},
              {"to_int32_extreme_transposed", {{{19, 21}, Domain::Extreme, Layout::Transposed}}, {3}},
              {"to_int64_extreme", {{{5, 7}, Domain::Extreme}}, {4}},
              {"to_int64_extreme_transposed", {{{19, 21}, Domain::Extreme, Layout::Transposed}}, {4}},
              {"to_bool_extreme_strided", {{{3, 9}, Domain::Extreme, Layout::Strided}}, {5}}},
    .run = [](const TensorList& in, const OpCase& c) {
      switch (static_cast<int>(c.params[0])) {
        case 0: return TensorList{in[0].clone()};
        case 1: return TensorList{in[0].to(DType::Float64)};
        case 2: return TensorList{in[0].contiguous()};
        case 3: return TensorList{in[0].to(DType::Int32)};
        case 4: return TensorList{in[0].to(DType::Int64)};
        default: return TensorList{in[0].to(DType::Bool)};
      }
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      return std::vector<Ref>{converted_ref(in[0], static_cast<int>(c.params[0]))};
    },
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
