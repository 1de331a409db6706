// Numerics of the elementwise ops where the textbook formula fails: gelu and its gradient over the whole
// float32 range against float64, pow's gradients where x^(b-1) or log(a) is infinite, and the gradients
// PyTorch gives at NaN and the infinities. The references are float64 formulas written out here.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "autograd/ops.h"

namespace trifecta::testing {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Every 4099th finite float32 of either sign (about two million), then every float32 in [-16, 16] at a
// spacing of 2^-9, where gelu bends and its tail falls away.
std::vector<float> float32_range() {
  std::vector<float> xs;
  for (uint64_t bits = 0; bits < 0x7f800000u; bits += 4099) {
    const float x = std::bit_cast<float>(static_cast<uint32_t>(bits));
    xs.push_back(x);
    xs.push_back(-x);
  }
  for (double x = -16.0; x <= 16.0; x += 1.0 / 512) xs.push_back(static_cast<float>(x));
  return xs;
}

// How far from float64 both forms of gelu and their gradients may be, in float32 ulps (7e-7 relative): the
// fitted erfc and two exponentials, a few products.
constexpr double kUlps = 12.0;

// float32 results against float64: |got - expected| within `ulps` float32 ulps of scale (a scale below the
// smallest normal float counts as that, since the subnormals have fixed spacing).
struct UlpCheck {
  double ulps;
  int failures = 0;
  double worst = 0.0, worst_x = 0.0;
  void operator()(double x, float got, double expected, double scale) {
    const double unit = std::max(std::fabs(scale), static_cast<double>(FLT_MIN)) * std::ldexp(1.0, -24);
    double error = std::fabs(got - expected) / unit;
    if (std::isnan(expected) || std::isnan(got)) error = std::isnan(expected) && std::isnan(got) ? 0.0 : kInf;
    if (error > ulps) ++failures;
    if (error > worst) worst = error, worst_x = x;
  }
};

// gelu(x) = x Phi(x) and gelu'(x) = Phi(x) + x phi(x), Phi from erfc (no cancellation for x < 0).
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double normal_pdf(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI); }

// The tanh form x s(u), s the logistic function of 2u, u = sqrt(2/pi) (x + 0.044715 x^3).
double tanh_u(double x) { return std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x); }
double logistic(double z) { return 1.0 / (1.0 + std::exp(-z)); }

struct GeluValues {
  std::vector<float> x, y, dy;
};
GeluValues run_gelu(bool tanh_form) {
  GeluValues v{float32_range(), {}, {}};
  Tensor x = from_vector(v.x, {static_cast<int64_t>(v.x.size())}).requires_grad_();
  const Tensor y = gelu(x, tanh_form);
  sum(y).backward();
  v.y = y.to_vector<float>();
  v.dy = x.grad().to_vector<float>();
  return v;
}

TEST(GeluNumerics, ExactFormMatchesFloat64OverTheWholeFloat32Range) {
  const GeluValues v = run_gelu(false);
  UlpCheck forward{kUlps}, derivative{kUlps};
  for (size_t i = 0; i < v.x.size(); ++i) {
    const double x = v.x[i], cdf = normal_cdf(x), pdf = normal_pdf(x);
    forward(x, v.y[i], x * cdf, x * cdf);
    // Near gelu's minimum (x = -0.75) its derivative is a small difference of two terms near 0.2; an ulp of
    // those is all any float32 evaluation can promise there.
    derivative(x, v.dy[i], cdf + x * pdf, std::fabs(cdf) + std::fabs(x * pdf));
  }
  EXPECT_EQ(forward.failures, 0) << "worst " << forward.worst << " ulp at x = " << forward.worst_x;
  EXPECT_EQ(derivative.failures, 0) << "worst " << derivative.worst << " ulp at x = " << derivative.worst_x;
}

TEST(GeluNumerics, TanhFormMatchesFloat64OverTheWholeFloat32Range) {
  const GeluValues v = run_gelu(true);
  UlpCheck forward{kUlps}, derivative{kUlps};
  for (size_t i = 0; i < v.x.size(); ++i) {
    const double x = v.x[i], u = tanh_u(x), s = logistic(2 * u), one_minus_s = logistic(-2 * u);
    const double du = std::sqrt(2.0 / M_PI) * (1 + 3 * 0.044715 * x * x);
    const double slope = 2 * x * s * one_minus_s * du;
    forward(x, v.y[i], x * s, x * s);
    derivative(x, v.dy[i], s + slope, std::fabs(s) + std::fabs(slope));
  }
  EXPECT_EQ(forward.failures, 0) << "worst " << forward.worst << " ulp at x = " << forward.worst_x;
  EXPECT_EQ(derivative.failures, 0) << "worst " << derivative.worst << " ulp at x = " << derivative.worst_x;
}

TEST(GeluNumerics, TheFarNegativeTailOfTheGradient) {
  // At x = -5.5 the old 1 + erf(x / sqrt 2) had cancelled to rounding error (a few percent off).
  for (const float x : {-5.5f, -5.6f, -6.0f, -8.0f, -12.0f}) {
    Tensor t = full({1}, x).requires_grad_();
    sum(gelu(t)).backward();
    const double expected = normal_cdf(x) + double{x} * normal_pdf(x);
    EXPECT_NEAR(t.grad().item<float>(), expected, 1e-6 * std::fabs(expected)) << "x = " << x;
  }
}

// Gradient of sum(f(x)) at the given float64 points.
std::vector<double> grad_of(const std::vector<double>& points, Tensor (*f)(const Tensor&)) {
  Tensor x = from_vector(points, {static_cast<int64_t>(points.size())}).requires_grad_();
  sum(f(x)).backward();
  return x.grad().to_vector<double>();
}

// Equal up to float64 rounding; NaN must meet NaN and an infinity the same infinity.
void expect_same(const std::vector<double>& got, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) EXPECT_TRUE(std::isnan(got[i])) << what << " element " << i << ": " << got[i];
    else if (std::isinf(expected[i])) EXPECT_EQ(got[i], expected[i]) << what << " element " << i;
    else EXPECT_NEAR(got[i], expected[i], 1e-13 * std::fabs(expected[i])) << what << " element " << i;
  }
}

TEST(PowGradients, ExponentZeroGivesZeroGradientEverywhere) {
  // d/dx x^0 is 0, also at x = 0 where 0 * x^-1 would be 0 * inf = NaN, and PyTorch gives 0 at NaN too.
  const std::vector<double> points = {0.0, -0.0, 2.0, -1.5, kInf, kNaN};
  expect_same(grad_of(points, [](const Tensor& x) { return pow(x, 0.0); }), std::vector<double>(6, 0.0), "x^0");
  expect_same(grad_of({0.0, 3.0}, [](const Tensor& x) { return pow(x, 2.0); }), {0.0, 6.0}, "x^2");
  expect_same(grad_of({0.0, 4.0}, [](const Tensor& x) { return pow(x, 0.5); }), {kInf, 0.25}, "x^0.5");
  expect_same(grad_of({-2.0}, [](const Tensor& x) { return pow(x, 3.0); }), {12.0}, "(-2)^3");
}

TEST(PowGradients, TensorExponentFollowsPyTorch) {
  // (a, b) pairs: base 0 with exponents 0, 2, 0.5 and -1; negative bases with integer exponents; b = 0.
  const std::vector<double> a_values = {0.0, 0.0, 0.0, 0.0, -2.0, -2.0, 2.0, 2.0};
  const std::vector<double> b_values = {0.0, 2.0, 0.5, -1.0, 3.0, 2.0, 0.0, 3.0};
  Tensor a = from_vector(a_values, {8}).requires_grad_(), b = from_vector(b_values, {8}).requires_grad_();
  sum(pow(a, b)).backward();
  // d/da = b a^(b-1), but 0 where b = 0.
  expect_same(a.grad().to_vector<double>(), {0.0, 0.0, kInf, -kInf, 12.0, -4.0, 0.0, 12.0}, "d/da");
  // d/db = a^b log a, but 0 where a = 0 and b >= 0; log of a negative base is NaN.
  expect_same(b.grad().to_vector<double>(), {0.0, 0.0, 0.0, -kInf, kNaN, kNaN, std::log(2.0), 8 * std::log(2.0)},
              "d/db");
}

TEST(PowGradients, AZeroExponentDoesNotPoisonAParameter) {
  Tensor p = from_vector(std::vector<float>{0.0f, 1.5f}, {2}).requires_grad_();
  sum(add(mul(pow(p, 0), 3.0), pow(p, pow(p, 0.0)))).backward();  // 3 p^0 + p^(p^0): gradient 0 + 1
  const std::vector<float> grad = p.grad().to_vector<float>();
  EXPECT_EQ(grad, (std::vector<float>{1.0f, 1.0f}));
}

TEST(NonFiniteGradients, FollowPyTorch) {
  const std::vector<double> points = {kNaN, kInf, -kInf, 0.0, -0.0, 1.0, -1.0};
  // relu passes the gradient through NaN (PyTorch's threshold_backward compares the output with 0).
  expect_same(grad_of(points, &relu), {1, 1, 0, 0, 0, 1, 0}, "relu");
  expect_same(grad_of(points, [](const Tensor& x) { return clamp(x, -0.5, 0.7); }), {0, 0, 0, 1, 1, 0, 0}, "clamp");
  // min > max: the output is max everywhere, and no x lies in [min, max], so no gradient passes anywhere.
  expect_same(grad_of(points, [](const Tensor& x) { return clamp(x, 0.7, -0.5); }), {0, 0, 0, 0, 0, 0, 0},
              "clamp with min above max");
  // min = max: the gradient passes only at x = min.
  expect_same(grad_of(points, [](const Tensor& x) { return clamp(x, 1.0, 1.0); }), {0, 0, 0, 0, 0, 1, 0},
              "clamp with min equal to max");
  expect_same(grad_of(points, [](const Tensor& x) { return leaky_relu(x, 0.2); }), {0.2, 1, 0.2, 0.2, 0.2, 1, 0.2},
              "leaky_relu");
  expect_same(grad_of(points, &abs), {0, 1, -1, 0, 0, 1, -1}, "abs");
  const double sigmoid_slope = logistic(1) * logistic(-1);
  expect_same(grad_of(points, &sigmoid), {kNaN, 0, 0, 0.25, 0.25, sigmoid_slope, sigmoid_slope}, "sigmoid");
  expect_same(grad_of(points, [](const Tensor& x) { return gelu(x); }),
              {kNaN, kNaN, kNaN, 0.5, 0.5, normal_cdf(1) + normal_pdf(1), normal_cdf(-1) - normal_pdf(-1)}, "gelu");
  expect_same(grad_of(points, &silu), {kNaN, kNaN, kNaN, 0.5, 0.5, logistic(1) * (1 + logistic(-1)),
                                       logistic(-1) * (1 - logistic(1))},
              "silu");
}

TEST(NonFiniteGradients, MaximumAndMinimumGiveNaNAndItsGradientToBothSides) {
  const std::vector<double> a_values = {kNaN, 1.0, kNaN, 2.0, 3.0};
  const std::vector<double> b_values = {1.0, kNaN, kNaN, 2.0, -kInf};
  for (const bool is_max : {true, false}) {
    Tensor a = from_vector(a_values, {5}).requires_grad_(), b = from_vector(b_values, {5}).requires_grad_();
    const Tensor y = is_max ? maximum(a, b) : minimum(a, b);
    sum(y).backward();
    const char* name = is_max ? "maximum" : "minimum";
    expect_same(y.to_vector<double>(), {kNaN, kNaN, kNaN, 2.0, is_max ? 3.0 : -kInf}, name);
    expect_same(a.grad().to_vector<double>(), {1, 1, 1, 0.5, is_max ? 1.0 : 0.0}, name);
    expect_same(b.grad().to_vector<double>(), {1, 1, 1, 0.5, is_max ? 0.0 : 1.0}, name);
  }
}

TEST(NonFiniteForward, ReluClampMaximumKeepNaN) {
  const Tensor x = from_vector(std::vector<float>{NAN, INFINITY, -INFINITY, -0.0f, 2.0f}, {5});
  expect_same(relu(x).to_vector<double>(), {kNaN, kInf, 0.0, 0.0, 2.0}, "relu");
  expect_same(clamp(x, -1.0, 1.0).to_vector<double>(), {kNaN, 1.0, -1.0, 0.0, 1.0}, "clamp");
  expect_same(clamp(x, kNaN, 1.0).to_vector<double>(), std::vector<double>(5, kNaN), "clamp with a NaN bound");
  expect_same(clamp(x, 1.0, -1.0).to_vector<double>(), {kNaN, -1.0, -1.0, -1.0, -1.0}, "clamp with min above max");
  expect_same(maximum(x, 0.0).to_vector<double>(), {kNaN, kInf, 0.0, 0.0, 2.0}, "maximum");
  expect_same(minimum(x, kNaN).to_vector<double>(), std::vector<double>(5, kNaN), "minimum with NaN");
  expect_same(leaky_relu(x, 0.1).to_vector<double>(), {kNaN, kInf, -kInf, 0.0, 2.0}, "leaky_relu");
  expect_same(elu(x).to_vector<double>(), {kNaN, kInf, -1.0, 0.0, 2.0}, "elu");
}

}  // namespace
}  // namespace trifecta::testing
