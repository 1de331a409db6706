// Test specs for the reductions: sum, mean, amax, amin, logsumexp, var, argmax, argmin. References fold each
// output's elements in plain double loops (two-pass variance, max-shifted log-sum-exp), with PyTorch's
// answers for NaN and infinities: NaN wins everywhere (argmax and argmin point at the first NaN), and
// logsumexp is +inf with a +inf present, -inf when every element is -inf.
//
// Case params: {keepdim, correction, dims...}; no dims means every dim. correction is read by var only; argmax
// and argmin take at most one dim (none: the index into the flattened tensor, keepdim unused).
//
// The shapes are chosen to reach every loop of both devices (kernels/reduce/reduce_plan.h):
//   rows     long_row [3, 5000] over dim 1: CPU lanes, CUDA block per output
//   columns  column [300, 7] over dim 0: CPU column blocks, CUDA thread per output split along blockIdx.y
//   general  strided over the last dim, several non-adjacent dims of a transposed input
//   long_all every element of [3, 5000]: CUDA block per output split along blockIdx.y
// Long cases draw from Domain::Positive so sums do not cancel to near zero, where float32 rounding of
// thousands of terms would exceed the relative tolerance for reasons unrelated to the kernel.
// Nonfinite cases mix NaN, +inf and -inf into each layout (no gradcheck runs on them). Offset cases add 1e3,
// 1e4 and 1e6 to N(0, 1) values (float32 and float64 only: bfloat16 cannot tell 1e4 from 1e4 + 30): a
// variance must stay accurate to float32 however large the mean against the spread.
#include <algorithm>
#include <cmath>
#include <limits>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

struct ReduceArgs {
  bool keepdim = false;
  double correction = 0.0;
  std::vector<int64_t> dims;
};

ReduceArgs args_of(const OpCase& c) {
  ReduceArgs a;
  a.keepdim = c.params.at(0) != 0;
  a.correction = c.params.at(1);
  for (size_t i = 2; i < c.params.size(); ++i) a.dims.push_back(static_cast<int64_t>(c.params[i]));
  return a;
}

// Groups x's elements by output (row-major within each group) and folds each group with fold.
Ref reduce_ref(const Ref& x, const ReduceArgs& a, const std::function<double(const std::vector<double>&)>& fold) {
  const int ndim = x.shape.size();
  std::vector<bool> reduced(ndim, a.dims.empty());
  for (int64_t d : a.dims)
    if (ndim > 0) reduced[d < 0 ? d + ndim : d] = true;
  Shape keep, out;
  for (int d = 0; d < ndim; ++d) {
    keep.push_back(reduced[d] ? 1 : x.shape[d]);
    if (!reduced[d] || a.keepdim) out.push_back(keep[d]);
  }
  std::vector<std::vector<double>> groups(static_cast<size_t>(keep.numel()));
  for_each_index(x.shape, [&](const std::vector<int64_t>& index) {
    int64_t o = 0;
    for (int d = 0; d < ndim; ++d) o = o * keep[d] + (reduced[d] ? 0 : index[d]);
    groups[static_cast<size_t>(o)].push_back(x.at(index));
  });
  Ref result(out);
  for (size_t o = 0; o < groups.size(); ++o) result[static_cast<int64_t>(o)] = fold(groups[o]);
  return result;
}

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double mean_of(const std::vector<double>& v) { return sum_of(v) / static_cast<double>(v.size()); }
bool any_nan(const std::vector<double>& v) {
  return std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
double max_of(const std::vector<double>& v) { return any_nan(v) ? kNaN : *std::max_element(v.begin(), v.end()); }
double min_of(const std::vector<double>& v) { return any_nan(v) ? kNaN : *std::min_element(v.begin(), v.end()); }
double logsumexp_of(const std::vector<double>& v) {
  const double m = max_of(v);
  if (std::isnan(m) || std::isinf(m)) return m;  // NaN; +inf whatever the rest; -inf when all are -inf
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}
// Two-pass: the mean first, then the squared deviations from it, in long double (a double mean of values
// around 1e6 is off by ulp(1e6) ~ 1e-10, which the float64 offset cases would see). As in PyTorch, n <=
// correction divides by 0.
double var_of(const std::vector<double>& v, double correction) {
  long double m = 0;
  for (double x : v) m += x;
  m /= v.size();
  long double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return static_cast<double>(s / std::max(0.0L, v.size() - static_cast<long double>(correction)));
}
// First position of the best element: NaN beats everything (for argmin too), ties go to the smaller index.
double arg_of(const std::vector<double>& v, bool largest) {
  for (size_t i = 0; i < v.size(); ++i)
    if (std::isnan(v[i])) return static_cast<double>(i);
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (largest ? v[i] > v[best] : v[i] < v[best]) best = i;
  return static_cast<double>(best);
}

// The cases every value reduction shares; correction goes into params[1] (var reads it).
std::vector<OpCase> value_cases(double correction) {
  const Domain n = Domain::Normal, p = Domain::Positive;
  return {
      {"all", {{{3, 4}, n}}, {0, correction}},
      {"dim1", {{{3, 5}, n}}, {0, correction, 1}},
      {"dim0_keepdim", {{{4, 3}, n}}, {1, correction, 0}},
      {"negative_dim_keepdim", {{{2, 3, 4}, n}}, {1, correction, -1}},
      {"nonadjacent_transposed", {{{3, 2, 4, 5}, n, Layout::Transposed}}, {0, correction, 0, 2}},
      {"nonadjacent_transposed_keepdim", {{{2, 3, 5, 4}, n, Layout::Transposed}}, {1, correction, 1, 3}},
      {"strided_last_dim", {{{4, 6}, n, Layout::Strided}}, {0, correction, 1}},
      {"expanded", {{{4, 3}, n, Layout::Expanded}}, {0, correction, 0}},
      {"long_row", {{{3, 5000}, p}}, {0, correction, 1}},
      {"column", {{{300, 7}, p}}, {0, correction, 0}},
      {"long_all", {{{3, 5000}, p}}, {0, correction}},
  };
}

// 0-dim inputs: every dim, and dim 0 (allowed on a 0-dim tensor) with keepdim.
std::vector<OpCase> scalar_cases(double correction) {
  return {{"scalar", {{{}, Domain::Normal}}, {0, correction}}, {"scalar_dim0_keepdim", {{{}, Domain::Normal}}, {1, correction, 0}}};
}

std::vector<OpCase> tie_cases() {
  return {{"ties", {{{6, 5}, Domain::SmallInt}}, {0, 0, 1}}, {"ties_all", {{{6, 5}, Domain::SmallInt}}, {0, 0}}};
}

// NaN, +inf and -inf (Domain::Nonfinite) through the rows, columns and thread-split loops of both devices.
std::vector<OpCase> nonfinite_cases(double correction) {
  const Domain f = Domain::Nonfinite;
  return {{"nonfinite_rows", {{{4, 5}, f}}, {0, correction, 1}},
          {"nonfinite_column", {{{300, 7}, f}}, {0, correction, 0}},
          {"nonfinite_long_row", {{{3, 5000}, f}}, {0, correction, 1}},
          {"nonfinite_all", {{{3, 5000}, f}}, {0, correction}}};
}

const std::vector<DType> kFullPrecision = {DType::Float32, DType::Float64};

InputSpec offset_by(Shape shape, double offset) {
  InputSpec input{std::move(shape), Domain::Normal};
  input.offset = offset;
  return input;
}

// Values around 1e3, 1e4 and 1e6 with spread 1, through the rows, columns and thread-split loops.
std::vector<OpCase> offset_cases(double correction) {
  std::vector<OpCase> cases;
  for (const double offset : {1e3, 1e4, 1e6}) {
    const std::string name = std::string("offset_") + (offset == 1e3 ? "1e3" : offset == 1e4 ? "1e4" : "1e6");
    cases.push_back({name + "_rows", {offset_by({5, 700}, offset)}, {0, correction, 1}, kFullPrecision});
    cases.push_back({name + "_column", {offset_by({300, 7}, offset)}, {0, correction, 0}, kFullPrecision});
    cases.push_back({name + "_all", {offset_by({3, 5000}, offset)}, {0, correction}, kFullPrecision});
  }
  return cases;
}

template <class... Lists>
std::vector<OpCase> join(Lists... lists) {
  std::vector<OpCase> all;
  (all.insert(all.end(), lists.begin(), lists.end()), ...);
  return all;
}

using ReduceFn = Tensor (*)(const Tensor&, const std::vector<int64_t>&, bool);

OpSpec value_reduction(OpId op, ReduceFn f, double (*fold)(const std::vector<double>&), std::vector<OpCase> cases) {
  return {.op = op,
          .cases = std::move(cases),
          .run = [f](const TensorList& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            return TensorList{f(in[0], a.dims, a.keepdim)};
          },
          .reference = [fold](const std::vector<Ref>& in, const OpCase& c) {
            return std::vector<Ref>{reduce_ref(in[0], args_of(c), fold)};
          },
          .dtypes = kAllFloating};
}

using VarianceFn = Tensor (*)(const Tensor&, const std::vector<int64_t>&, double, bool);

// var, or std (its square root). The unbiased estimate (correction 1) on every layout, and the population
// variance (correction 0) on a few; a 0-dim input has one element, so only correction 0 is defined there.
OpSpec variance_reduction(OpId op, VarianceFn f, bool take_sqrt) {
  std::vector<OpCase> population = value_cases(0);
  population.resize(3);
  for (OpCase& c : population) c.name += "_population";
  return {.op = op,
          .cases = join(value_cases(1), population, scalar_cases(0), offset_cases(1), nonfinite_cases(1)),
          .run = [f](const TensorList& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            return TensorList{f(in[0], a.dims, a.correction, a.keepdim)};
          },
          .reference = [take_sqrt](const std::vector<Ref>& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            const auto fold = [&](const std::vector<double>& v) {
              const double variance = var_of(v, a.correction);
              return take_sqrt ? std::sqrt(variance) : variance;
            };
            return std::vector<Ref>{reduce_ref(in[0], a, fold)};
          },
          .dtypes = kAllFloating};
}

// max(x, dim) and min(x, dim): values and indices over one dim (params {keepdim, unused, dim}), on the
// layouts of the value reductions, ties, NaN and infinities, bools, and rows of an empty batch.
OpSpec extremum_along_dim(OpId op, bool largest) {
  const Domain n = Domain::Normal, p = Domain::Positive, s = Domain::SmallInt, f = Domain::Nonfinite;
  return {.op = op,
          .cases = {{"dim1", {{{3, 5}, n}}, {0, 0, 1}},
                    {"dim0_keepdim", {{{4, 3}, n}}, {1, 0, 0}},
                    {"negative_dim_keepdim", {{{2, 3, 4}, n}}, {1, 0, -1}},
                    {"middle_dim_transposed", {{{3, 4, 5}, n, Layout::Transposed}}, {0, 0, 1}},
                    {"strided_last_dim", {{{4, 6}, n, Layout::Strided}}, {0, 0, 1}},
                    {"expanded", {{{4, 3}, n, Layout::Expanded}}, {0, 0, 1}},
                    {"long_row", {{{3, 5000}, p}}, {0, 0, 1}},
                    {"column", {{{300, 7}, p}}, {0, 0, 0}},
                    {"scalar", {{{}, n}}, {0, 0, 0}},
                    {"scalar_keepdim", {{{}, n}}, {1, 0, -1}},
                    {"ties", {{{6, 5}, s}}, {0, 0, 1}},
                    {"ties_column", {{{40, 3}, s}}, {1, 0, 0}},
                    {"nonfinite_rows", {{{4, 5}, f}}, {0, 0, 1}},
                    {"nonfinite_column", {{{300, 7}, f}}, {0, 0, 0}},
                    {"bool", {{{4, 5}, Domain::Bool}}, {0, 0, 1}},
                    {"empty_batch", {{{0, 5}, n}}, {0, 0, 1}}},
          .run = [op](const TensorList& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            const ValuesAndIndices r =
                op == OpId::max ? max(in[0], a.dims[0], a.keepdim) : min(in[0], a.dims[0], a.keepdim);
            return TensorList{r.values, r.indices};
          },
          .reference = [largest](const std::vector<Ref>& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            const auto value = [largest](const std::vector<double>& v) { return largest ? max_of(v) : min_of(v); };
            const auto index = [largest](const std::vector<double>& v) { return arg_of(v, largest); };
            return std::vector<Ref>{reduce_ref(in[0], a, value), reduce_ref(in[0], a, index)};
          },
          .dtypes = kAllFloating};
}

OpSpec arg_reduction(OpId op, bool largest) {
  const Domain n = Domain::Normal, s = Domain::SmallInt;
  return {.op = op,
          .cases = {{"all", {{{3, 4}, n}}, {0, 0}},
                    {"dim1", {{{3, 5}, n}}, {0, 0, 1}},
                    {"dim0_keepdim", {{{4, 3}, n}}, {1, 0, 0}},
                    {"transposed_last_dim", {{{4, 5}, n, Layout::Transposed}}, {0, 0, -1}},
                    {"strided_last_dim", {{{4, 6}, n, Layout::Strided}}, {1, 0, 1}},
                    {"long_row", {{{3, 5000}, n}}, {0, 0, 1}},
                    {"column", {{{300, 7}, n}}, {0, 0, 0}},
                    {"long_all", {{{3, 5000}, n}}, {0, 0}},
                    {"scalar", {{{}, n}}, {0, 0}},
                    {"scalar_dim0_keepdim", {{{}, n}}, {1, 0, 0}},
                    // Ties: the first index must win inside a CPU lane, across lanes, across CUDA threads.
                    {"ties", {{{6, 5}, s}}, {0, 0, 1}},
                    {"ties_all", {{{6, 5}, s}}, {0, 0}},
                    {"ties_column", {{{40, 3}, s}}, {0, 0, 0}},
                    {"ties_long_row", {{{2, 3000}, s}}, {0, 0, 1}},
                    {"ties_long_all", {{{2, 3000}, s}}, {0, 0}},
                    // NaN, +inf and -inf mixed in (see Domain::Nonfinite): the first NaN wins.
                    {"nonfinite_rows", {{{4, 5}, Domain::Nonfinite}}, {0, 0, 1}},
                    {"nonfinite_column", {{{300, 7}, Domain::Nonfinite}}, {0, 0, 0}},
                    {"nonfinite_long_row", {{{3, 5000}, Domain::Nonfinite}}, {0, 0, 1}}},
          .run = [op](const TensorList& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            const bool is_max = op == OpId::argmax;
            if (a.dims.empty()) return TensorList{is_max ? argmax(in[0]) : argmin(in[0])};
            return TensorList{is_max ? argmax(in[0], a.dims[0], a.keepdim) : argmin(in[0], a.dims[0], a.keepdim)};
          },
          .reference = [largest](const std::vector<Ref>& in, const OpCase& c) {
            const ReduceArgs a = args_of(c);
            const auto fold = [largest](const std::vector<double>& v) { return arg_of(v, largest); };
            return std::vector<Ref>{reduce_ref(in[0], a, fold)};
          },
          .dtypes = kAllFloating};
}

const OpSpecRegistrar reduce_specs[] = {
    value_reduction(OpId::sum, &sum, &sum_of, join(value_cases(0), scalar_cases(0), nonfinite_cases(0))),
    value_reduction(OpId::mean, &mean, &mean_of, join(value_cases(0), scalar_cases(0), nonfinite_cases(0))),
    value_reduction(OpId::amax, &amax, &max_of, join(value_cases(0), scalar_cases(0), tie_cases(), nonfinite_cases(0))),
    value_reduction(OpId::amin, &amin, &min_of, join(value_cases(0), scalar_cases(0), tie_cases(), nonfinite_cases(0))),
    [] {
      // Wide inputs (N(0, 9)) give exp() a range of about e^-10 .. e^10: the max shift has to work.
      OpSpec spec = value_reduction(OpId::logsumexp, &logsumexp, &logsumexp_of,
                                    join(value_cases(0), scalar_cases(0), nonfinite_cases(0)));
      for (OpCase& c : spec.cases)
        for (InputSpec& input : c.inputs)
          if (input.domain == Domain::Normal) input.domain = Domain::Wide;
      return spec;
    }(),
    variance_reduction(OpId::var, &var, /*take_sqrt=*/false),
    variance_reduction(OpId::std, &trifecta::std, /*take_sqrt=*/true),
    arg_reduction(OpId::argmax, true),
    arg_reduction(OpId::argmin, false),
    extremum_along_dim(OpId::max, true),
    extremum_along_dim(OpId::min, false),
};

}  // namespace
}  // namespace trifecta::testing
