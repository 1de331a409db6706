// Test specs for the elementwise ops: unary math and activations, binary arithmetic with broadcasting,
// comparisons, where, masked_fill, count_nonfinite. References are scalar C++ math in double. Every op also
// meets NaN, +inf and -inf (Domain::Nonfinite), where the references spell out PyTorch's results: NaN in
// gives NaN out (relu and maximum included), inf follows IEEE arithmetic.
#include <cmath>
#include <limits>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

std::vector<OpCase> unary_cases(Domain d, std::vector<double> params = {}) {
  return {
      {"vector", {{{7}, d}}, params},
      {"matrix_transposed", {{{3, 5}, d, Layout::Transposed}}, params},
      {"rank3_strided", {{{2, 3, 4}, d, Layout::Strided}}, params},
      {"expanded", {{{4, 3}, d, Layout::Expanded}}, params},
      {"scalar", {{{}, d}}, params},
      {"nonfinite", {{{4, 6}, Domain::Nonfinite}}, params},
  };
}

// A unary op whose parameters (if any) come from the case.
OpSpec unary(OpId op, Domain d, std::function<Tensor(const Tensor&, const std::vector<double>&)> f,
             std::function<double(double, const std::vector<double>&)> ref, std::vector<double> params = {}) {
  return {.op = op,
          .cases = unary_cases(d, params),
          .run = [f](const TensorList& in, const OpCase& c) { return TensorList{f(in[0], c.params)}; },
          .reference = [ref](const std::vector<Ref>& in, const OpCase& c) {
            return std::vector<Ref>{map_ref(in[0], [&](double x) { return ref(x, c.params); })};
          },
          .dtypes = kAllFloating};
}

OpSpec simple_unary(OpId op, Domain d, Tensor (*f)(const Tensor&), double (*ref)(double)) {
  return unary(op, d, [f](const Tensor& x, const std::vector<double>&) { return f(x); },
               [ref](double x, const std::vector<double>&) { return ref(x); });
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double gelu_exact(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

const OpSpecRegistrar unary_specs[] = {
    simple_unary(OpId::neg, Domain::Normal, &neg, [](double x) { return -x; }),
    simple_unary(OpId::abs, Domain::Normal, &abs, [](double x) { return std::fabs(x); }),
    simple_unary(OpId::square, Domain::Normal, &square, [](double x) { return x * x; }),
    simple_unary(OpId::exp, Domain::Normal, &exp, [](double x) { return std::exp(x); }),
    simple_unary(OpId::expm1, Domain::Normal, &expm1, [](double x) { return std::expm1(x); }),
    simple_unary(OpId::log, Domain::Positive, &log, [](double x) { return std::log(x); }),
    simple_unary(OpId::log1p, Domain::Positive, &log1p, [](double x) { return std::log1p(x); }),
    simple_unary(OpId::sqrt, Domain::Positive, &sqrt, [](double x) { return std::sqrt(x); }),
    simple_unary(OpId::rsqrt, Domain::Positive, &rsqrt, [](double x) { return 1.0 / std::sqrt(x); }),
    simple_unary(OpId::reciprocal, Domain::Positive, &reciprocal, [](double x) { return 1.0 / x; }),
    simple_unary(OpId::sin, Domain::Normal, &sin, [](double x) { return std::sin(x); }),
    simple_unary(OpId::cos, Domain::Normal, &cos, [](double x) { return std::cos(x); }),
    simple_unary(OpId::tanh, Domain::Normal, &tanh, [](double x) { return std::tanh(x); }),
    simple_unary(OpId::sigmoid, Domain::Wide, &sigmoid, &sigmoid_ref),
    simple_unary(OpId::relu, Domain::Normal, &relu, [](double x) { return std::isnan(x) || x > 0 ? x : 0.0; }),
    simple_unary(OpId::silu, Domain::Normal, &silu, [](double x) { return x * sigmoid_ref(x); }),
    unary(OpId::leaky_relu, Domain::Normal, [](const Tensor& x, const std::vector<double>& p) { return leaky_relu(x, p[0]); },
          [](double x, const std::vector<double>& p) { return x > 0 ? x : p[0] * x; }, {0.2}),
    unary(OpId::elu, Domain::Normal, [](const Tensor& x, const std::vector<double>& p) { return elu(x, p[0]); },
          [](double x, const std::vector<double>& p) { return x > 0 ? x : p[0] * std::expm1(x); }, {1.5}),
    // params[0] = 1 selects the tanh approximation; the two variants are separate cases below.
    [] {
      OpSpec spec = unary(OpId::gelu, Domain::Normal,
                          [](const Tensor& x, const std::vector<double>& p) { return gelu(x, p[0] != 0); },
                          [](double x, const std::vector<double>& p) { return p[0] != 0 ? gelu_tanh(x) : gelu_exact(x); },
                          {0.0});
      for (OpCase c : unary_cases(Domain::Normal, {1.0})) {
        c.name += "_tanh";
        spec.cases.push_back(c);
      }
      return spec;
    }(),
    // Wide inputs cross the threshold (beta * x > 20 returns x itself).
    unary(OpId::softplus, Domain::Wide,
          [](const Tensor& x, const std::vector<double>& p) { return softplus(x, p[0], p[1]); },
          [](double x, const std::vector<double>& p) { return p[0] * x > p[1] ? x : std::log1p(std::exp(p[0] * x)) / p[0]; },
          {2.0, 5.0}),
    unary(OpId::pow_scalar, Domain::Positive, [](const Tensor& x, const std::vector<double>& p) { return pow(x, p[0]); },
          [](double x, const std::vector<double>& p) { return std::pow(x, p[0]); }, {-1.5}),
    // The second set of cases has min > max, where clamp = min(max(x, min), max) is max everywhere.
    [] {
      OpSpec spec = unary(
          OpId::clamp, Domain::Normal,
          [](const Tensor& x, const std::vector<double>& p) { return clamp(x, p[0], p[1]); },
          [](double x, const std::vector<double>& p) { return std::isnan(x) ? x : std::min(std::max(x, p[0]), p[1]); },
          {-0.5, 0.7});
      for (OpCase c : unary_cases(Domain::Normal, {0.7, -0.5})) {
        c.name += "_min_above_max";
        spec.cases.push_back(c);
      }
      return spec;
    }(),
};

std::vector<OpCase> binary_cases(Domain a, Domain b) {
  return {
      {"same_shape", {{{3, 4}, a}, {{3, 4}, b}}},
      {"broadcast_outer", {{{3, 1}, a}, {{1, 4}, b}}},
      {"broadcast_rank", {{{2, 3, 5}, a}, {{5}, b}}},
      {"transposed", {{{4, 5}, a, Layout::Transposed}, {{4, 5}, b, Layout::Strided}}},
      {"scalar_rhs", {{{3, 4}, a}, {{}, b}}},
      {"scalar_lhs", {{{}, a}, {{2, 3}, b}}},
      {"expanded", {{{4, 3}, a, Layout::Expanded}, {{4, 3}, b}}},
      // Each of NaN, inf and -inf sits in both columns (flat indices 3, 8, 13), so every pair meets.
      {"nonfinite", {{{14, 1}, Domain::Nonfinite}, {{1, 14}, Domain::Nonfinite}}},
  };
}

OpSpec binary(OpId op, Domain a, Domain b, Tensor (*f)(const Tensor&, const Tensor&), double (*ref)(double, double),
              std::vector<DType> dtypes = kAllFloating) {
  return {.op = op,
          .cases = binary_cases(a, b),
          .run = [f](const TensorList& in, const OpCase&) { return TensorList{f(in[0], in[1])}; },
          .reference = [ref](const std::vector<Ref>& in, const OpCase&) { return std::vector<Ref>{zip_ref(in[0], in[1], ref)}; },
          .dtypes = std::move(dtypes)};
}

// NaN wins in maximum and minimum, as in PyTorch (std::max would return its first argument).
double nan_max(double a, double b) { return std::isnan(a) || std::isnan(b) ? std::nan("") : std::max(a, b); }
double nan_min(double a, double b) { return std::isnan(a) || std::isnan(b) ? std::nan("") : std::min(a, b); }

// maximum/minimum also get a case of small integers, so ties (where the gradient splits) occur.
OpSpec with_ties(OpSpec spec) {
  spec.cases.push_back({"ties", {{{6, 5}, Domain::SmallInt}, {{6, 5}, Domain::SmallInt}}});
  return spec;
}

const OpSpecRegistrar binary_specs[] = {
    binary(OpId::add, Domain::Normal, Domain::Normal, &add, [](double a, double b) { return a + b; }),
    binary(OpId::sub, Domain::Normal, Domain::Normal, &sub, [](double a, double b) { return a - b; }),
    binary(OpId::mul, Domain::Normal, Domain::Normal, &mul, [](double a, double b) { return a * b; }),
    binary(OpId::div, Domain::Normal, Domain::Positive, &div, [](double a, double b) { return a / b; }),
    binary(OpId::pow, Domain::Positive, Domain::Normal, &pow, [](double a, double b) { return std::pow(a, b); }),
    with_ties(binary(OpId::maximum, Domain::Normal, Domain::Normal, &maximum, &nan_max)),
    with_ties(binary(OpId::minimum, Domain::Normal, Domain::Normal, &minimum, &nan_min)),
};

OpSpec compare(OpId op, Tensor (*f)(const Tensor&, const Tensor&), bool (*ref)(double, double)) {
  OpSpec spec = binary(op, Domain::SmallInt, Domain::SmallInt, f, nullptr);
  spec.reference = [ref](const std::vector<Ref>& in, const OpCase&) {
    return std::vector<Ref>{zip_ref(in[0], in[1], [ref](double a, double b) { return ref(a, b) ? 1.0 : 0.0; })};
  };
  return spec;
}

const OpSpecRegistrar compare_specs[] = {
    compare(OpId::eq, &eq, [](double a, double b) { return a == b; }),
    compare(OpId::ne, &ne, [](double a, double b) { return a != b; }),
    compare(OpId::lt, &lt, [](double a, double b) { return a < b; }),
    compare(OpId::le, &le, [](double a, double b) { return a <= b; }),
    compare(OpId::gt, &gt, [](double a, double b) { return a > b; }),
    compare(OpId::ge, &ge, [](double a, double b) { return a >= b; }),
};

TRIFECTA_OP_SPEC({
    .op = OpId::where,
    .cases = {{"same_shape", {{{3, 4}, Domain::Bool}, {{3, 4}}, {{3, 4}}}},
              {"broadcast", {{{3, 1}, Domain::Bool}, {{1, 4}}, {{3, 4}, Domain::Normal, Layout::Transposed}}},
              {"scalar_branch", {{{2, 5}, Domain::Bool}, {{2, 5}}, {{}}}},
              {"nonfinite", {{{4, 5}, Domain::Bool}, {{4, 5}, Domain::Nonfinite}, {{5}, Domain::Nonfinite}}}},
    .run = [](const TensorList& in, const OpCase&) { return TensorList{where(in[0], in[1], in[2])}; },
    .reference =
        [](const std::vector<Ref>& in, const OpCase&) {
          const Ref picked = zip_ref(in[0], zip_ref(in[1], in[2], [](double a, double) { return a; }),
                                     [](double c, double a) { return c != 0 ? a : std::nan(""); });
          const Ref other = zip_ref(in[0], zip_ref(in[1], in[2], [](double, double b) { return b; }),
                                    [](double c, double b) { return c != 0 ? std::nan("") : b; });
          return std::vector<Ref>{zip_ref(picked, other, [](double a, double b) { return std::isnan(a) ? b : a; })};
        },
    .dtypes = kAllFloating,
});

// masked_fill(x, mask, value): params[0] is the value. x and the mask broadcast together (the output takes
// the larger shape, and x's gradient sums over the copies it was broadcast to).
TRIFECTA_OP_SPEC({
    .op = OpId::masked_fill,
    .cases = {{"same_shape", {{{3, 4}}, {{3, 4}, Domain::Bool}}, {2.5}},
              {"mask_broadcast", {{{2, 3, 4}, Domain::Normal, Layout::Transposed}, {{3, 1}, Domain::Bool}}, {-1.0}},
              {"x_broadcast", {{{1, 4}}, {{3, 4}, Domain::Bool}}, {0.0}},
              {"expanded_x", {{{4, 3}, Domain::Normal, Layout::Expanded}, {{4, 3}, Domain::Bool}}, {7.0}},
              {"strided_mask", {{{5, 3}}, {{5, 3}, Domain::Bool, Layout::Strided}}, {-3.0}},
              {"scalar", {{{}}, {{}, Domain::Bool}}, {1.0}},
              // An attention-style fill with -inf over an input that has NaN and infinities of its own.
              {"nonfinite", {{{4, 5}, Domain::Nonfinite}, {{4, 5}, Domain::Bool}},
               {-std::numeric_limits<double>::infinity()}}},
    .run = [](const TensorList& in, const OpCase& c) { return TensorList{masked_fill(in[0], in[1], c.params[0])}; },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const double value = c.params[0];
          const auto fill = [value](double mask, double x) { return mask != 0 ? value : x; };
          return std::vector<Ref>{zip_ref(in[1], in[0], fill)};
        },
    .dtypes = kAllFloating,
});

TRIFECTA_OP_SPEC({
    .op = OpId::count_nonfinite,
    .cases = {{"mixed", {{{4, 5}, Domain::Nonfinite}}}, {"transposed", {{{6, 7}, Domain::Nonfinite, Layout::Transposed}}},
              {"finite", {{{9}, Domain::Normal}}}},
    .run = [](const TensorList& in, const OpCase&) {
      return TensorList{scalar_tensor(static_cast<double>(count_nonfinite(in[0])), DType::Int64)};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase&) {
          Ref count(Shape{});
          for (double v : in[0].v) count[0] += std::isfinite(v) ? 0.0 : 1.0;
          return std::vector<Ref>{count};
        },
});

}  // namespace
}  // namespace trifecta::testing
