// Test specs for fills and random draws: fill (full, fill_ into strided views), arange, uniform, normal,
// bernoulli. The single input says where to make the result (device, and dtype for floating results); its
// values matter only where a fill writes into a copy of it, and as bernoulli's probabilities.
//
// The random references rebuild each draw from the Philox helpers of kernels/fill/philox.h: element i of a
// draw at generator state (seed, offset) is a function of philox_element(seed, offset, i). That is not
// circular, because philox4x32_10 itself is checked against Random123's published known-answer vectors in
// tests/unit/philox_test.cpp; what these specs check is that the kernels give element i counter offset + i
// in logical order on any layout, scale and round the draw correctly, and agree across devices.
#include <cmath>

#include "kernels/fill/philox.h"
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

// Positions g at (seed, offset), both given as case params.
void position(Generator& g, double seed, double offset) {
  g.set_state({static_cast<uint64_t>(seed), static_cast<uint64_t>(offset)});
}

// The destination of the in-place cases: a copy of the input, written through every other column.
Tensor odd_columns(const Tensor& copy) { return copy.slice(-1, 1, copy.size(-1), 2); }

// A copy of x whose odd columns take value(k), k counting the written elements in row-major order.
Ref odd_columns_ref(const Ref& x, const std::function<double(int64_t)>& value) {
  Ref out = x;
  int64_t k = 0;
  for_each_index(x.shape, [&](const std::vector<int64_t>& i) {
    if (i.back() % 2 == 1) out.at(i) = value(k++);
  });
  return out;
}

// ---- fill: params {0 = full, value} | {1 = fill_ into the odd columns of a copy, value}
//      | {2 = zero_ of a transposed copy} ----

TRIFECTA_OP_SPEC({
    .op = OpId::fill,
    .cases = {{"full", {{{3, 4}}}, {0, -1.75}},
              {"full_scalar", {{{}}}, {0, 3.5}},
              {"full_empty", {{{0, 3}}}, {0, 2.0}},
              {"fill_strided_view", {{{3, 8}}}, {1, 2.25}},
              {"fill_strided_view_rank3", {{{2, 3, 5}}}, {1, -0.5}},
              {"zero_transposed", {{{4, 5}, Domain::Normal, Layout::Transposed}}, {2, 0.0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const Tensor& x = in[0];
      switch (static_cast<int>(c.params[0])) {
        case 0: return TensorList{full(x.shape(), c.params[1], x.options())};
        case 1: {
          const Tensor copy = x.detach().clone();
          fill_(odd_columns(copy), c.params[1]);
          return TensorList{copy};
        }
        default: {
          const Tensor copy = x.detach().clone();
          zero_(copy.t());
          return TensorList{copy};
        }
      }
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const double value = c.params[1];
      if (c.params[0] == 1) return std::vector<Ref>{odd_columns_ref(in[0], [&](int64_t) { return value; })};
      return std::vector<Ref>{Ref(in[0].shape, value)};
    },
    .dtypes = kAllFloating,
});

// ---- arange: params {start, end, step, result dtype: 0 = the input's, 1 = int64, 2 = int32} ----
// Every value is exactly representable in every dtype, so the comparison is exact up to the dtype's rounding
// of start + i * step.

DType arange_dtype(const Tensor& x, double code) {
  return code == 1 ? DType::Int64 : code == 2 ? DType::Int32 : x.dtype();
}

TRIFECTA_OP_SPEC({
    .op = OpId::arange,
    .cases = {{"unit_step", {{{1}}}, {0, 7, 1, 0}},
              {"fractional_step", {{{1}}}, {-1.5, 2.0, 0.25, 0}},
              {"negative_step", {{{1}}}, {3, -2, -0.5, 0}},
              {"partial_last_step", {{{1}}}, {0, 1, 0.375, 0}},
              {"empty_range", {{{1}}}, {2, 1, 1, 0}},
              {"int64", {{{1}}}, {0, 10, 3, 1}},
              {"int64_negative_step", {{{1}}}, {4, -9, -4, 1}},
              {"int32_negative_step", {{{1}}}, {5, -6, -2, 2}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const auto& p = c.params;
      return TensorList{arange(p[0], p[1], p[2], {arange_dtype(in[0], p[3]), in[0].device()})};
    },
    .reference = [](const std::vector<Ref>&, const OpCase& c) {
      const double start = c.params[0], end = c.params[1], step = c.params[2];
      std::vector<double> values;
      for (double v = start; step > 0 ? v < end : v > end; v = start + step * static_cast<double>(values.size()))
        values.push_back(v);
      Ref out(Shape{static_cast<int64_t>(values.size())});
      out.v = values;
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

// ---- uniform: params {mode: 0 = uniform(), 1 = uniform_ into the odd columns of a copy, low, high, seed, offset} ----
// high sits just above a value every dtype represents, so no draw below high can round up to it (the kernel
// maps such a draw to low to keep the interval half-open; tests/unit/philox_test.cpp checks that rule).
// The large offset makes counters cross into the counter's second 32-bit word.

TRIFECTA_OP_SPEC({
    .op = OpId::uniform,
    .cases = {{"unit_interval", {{{5, 7}}}, {0, 0, 1.0001, 7, 0}},
              {"shifted_range", {{{4, 9}}}, {0, -2, 3.0001, 123456789, 1000}},
              {"counter_crosses_32_bits", {{{64}}}, {0, 0.5, 0.7501, 1099511640321.0, 4294967261.0}},
              {"scalar", {{{}}}, {0, -1, 1.0001, 99, 5}},
              {"inplace_strided_view", {{{3, 8}}}, {1, -1, 2.0001, 2024, 31}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const auto& p = c.params;
      Generator g;
      position(g, p[3], p[4]);
      if (p[0] == 0) return TensorList{uniform(in[0].shape(), p[1], p[2], in[0].options(), &g)};
      const Tensor copy = in[0].detach().clone();
      uniform_(odd_columns(copy), p[1], p[2], &g);
      return TensorList{copy};
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const auto& p = c.params;
      const uint64_t seed = static_cast<uint64_t>(p[3]), offset = static_cast<uint64_t>(p[4]);
      const auto draw = [&](int64_t i) {
        return p[1] + (p[2] - p[1]) * philox_uniform(philox_element(seed, offset, static_cast<uint64_t>(i)));
      };
      if (p[0] == 1) return std::vector<Ref>{odd_columns_ref(in[0], draw)};
      Ref out(in[0].shape);
      for (int64_t i = 0; i < out.numel(); ++i) out[i] = draw(i);
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

// ---- normal: params {mode: 0 = normal(), 1 = normal_ into the odd columns of a copy, mean, std, seed, offset} ----

TRIFECTA_OP_SPEC({
    .op = OpId::normal,
    .cases = {{"standard", {{{5, 7}}}, {0, 0, 1, 7, 0}},
              {"shifted_scaled", {{{4, 9}}}, {0, 3, 0.5, 123456789, 77}},
              {"counter_crosses_32_bits", {{{64}}}, {0, -1, 2, 1099511640321.0, 4294967261.0}},
              {"scalar", {{{}}}, {0, 0, 1, 11, 3}},
              {"zero_std", {{{6}}}, {0, 1.5, 0, 5, 0}},
              {"inplace_strided_view", {{{3, 8}}}, {1, 0, 1, 2024, 31}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const auto& p = c.params;
      Generator g;
      position(g, p[3], p[4]);
      if (p[0] == 0) return TensorList{normal(in[0].shape(), p[1], p[2], in[0].options(), &g)};
      const Tensor copy = in[0].detach().clone();
      normal_(odd_columns(copy), p[1], p[2], &g);
      return TensorList{copy};
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const auto& p = c.params;
      const uint64_t seed = static_cast<uint64_t>(p[3]), offset = static_cast<uint64_t>(p[4]);
      const auto draw = [&](int64_t i) {
        return p[1] + p[2] * philox_normal(philox_element(seed, offset, static_cast<uint64_t>(i)));
      };
      if (p[0] == 1) return std::vector<Ref>{odd_columns_ref(in[0], draw)};
      Ref out(in[0].shape);
      for (int64_t i = 0; i < out.numel(); ++i) out[i] = draw(i);
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

// ---- bernoulli: params {mode, p, seed, offset}; mode 0 = bernoulli(shape, p) in the input's dtype,
//      1 = bernoulli(shape, p) as int64, 2 = bernoulli(probs) with the input as probabilities ----
// Element i is 1 exactly when the i-th uniform draw is below its probability (as stored in the dtype, so
// p = 0.375 is exact everywhere).

TRIFECTA_OP_SPEC({
    .op = OpId::bernoulli,
    .cases = {{"scalar_p", {{{6, 7}}}, {0, 0.375, 17, 0}},
              {"scalar_p_int64", {{{5, 5}}}, {1, 0.375, 18, 40}},
              {"p_zero", {{{9}}}, {0, 0.0, 19, 0}},
              {"p_one", {{{9}}}, {0, 1.0, 20, 0}},
              {"probs_tensor", {{{6, 7}, Domain::Unit}}, {2, 0, 21, 0}},
              {"probs_transposed", {{{5, 6}, Domain::Unit, Layout::Transposed}}, {2, 0, 22, 4294967290.0}},
              {"probs_scalar", {{{}, Domain::Unit}}, {2, 0, 23, 9}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const auto& p = c.params;
      Generator g;
      position(g, p[2], p[3]);
      if (p[0] == 0) return TensorList{bernoulli(in[0].shape(), p[1], in[0].options(), &g)};
      if (p[0] == 1) return TensorList{bernoulli(in[0].shape(), p[1], {DType::Int64, in[0].device()}, &g)};
      return TensorList{bernoulli(in[0], &g)};
    },
    .reference = [](const std::vector<Ref>& in, const OpCase& c) {
      const auto& p = c.params;
      const uint64_t seed = static_cast<uint64_t>(p[2]), offset = static_cast<uint64_t>(p[3]);
      Ref out(in[0].shape);
      for (int64_t i = 0; i < out.numel(); ++i) {
        const double u = philox_uniform(philox_element(seed, offset, static_cast<uint64_t>(i)));
        out[i] = u < (p[0] == 2 ? in[0][i] : p[1]) ? 1.0 : 0.0;
      }
      return std::vector<Ref>{out};
    },
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
