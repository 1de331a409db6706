// The vectorizable float32 functions of kernels/common/vector_math.h against the float64 C library, in
// units in the last place (ulp) of the float32 result: the error |f(x) - y| / ulp(y), y the float64 value
// and ulp(y) the spacing of floats at y (2^-149 among the subnormals). Inputs:
//   every multiple of 2^-10 in [-100, 100]
//   every 331st float of either sign (the whole range, subnormals included)
//   every float near the edges: exp's overflow and underflow thresholds, the switch point between the
//   polynomial and exp-based forms of tanh (0.625)
//   special values, which must match the C library's float functions exactly (NaN for NaN)
// The values are computed by loops over arrays, as the kernels call them, so it is the vectorized code
// that is checked.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/common/vector_math.h"

namespace trifecta {
namespace {

// Asserted bounds; the largest errors measured are in vector_math.h's header comment.
constexpr double kExpUlps = 1.5, kLogUlps = 1.0, kTanhUlps = 1.5;

double ulp_error(float got, double exact) {
  if (std::isnan(exact)) return std::isnan(got) ? 0.0 : INFINITY;
  const float rounded = static_cast<float>(exact);
  if (std::isinf(rounded) || std::isinf(got)) return rounded == got ? 0.0 : INFINITY;
  int exponent = 0;
  std::frexp(exact, &exponent);  // |exact| in [2^(exponent-1), 2^exponent)
  const double ulp = std::ldexp(1.0, std::max(exponent - 24, -149));
  return std::fabs(static_cast<double>(got) - exact) / ulp;
}

std::vector<float> sweep_inputs() {
  std::vector<float> x;
  for (int i = -102400; i <= 102400; ++i) x.push_back(static_cast<float>(i) / 1024.0f);
  for (uint32_t bits = 0; bits < 0x7f800000u; bits += 331) {
    x.push_back(std::bit_cast<float>(bits));
    x.push_back(-std::bit_cast<float>(bits));
  }
  // Every float in [lo, hi].
  const auto every_float = [&](float lo, float hi) {
    for (float v = lo; v <= hi; v = std::nextafter(v, INFINITY)) x.push_back(v);
  };
  every_float(88.5f, 89.0f);        // exp overflows
  every_float(-104.0f, -103.5f);    // exp underflows to 0
  every_float(-87.5f, -87.0f);      // exp's results become subnormal
  every_float(0.62f, 0.63f);        // tanh changes form
  every_float(-0.63f, -0.62f);
  every_float(0.0f, 1e-40f);        // the subnormals' start, for log
  return x;
}

struct Report {
  double max_ulps = 0;
  float worst_input = 0;
};

template <class Vector, class Exact>
Report measure(const std::vector<float>& x, Vector vector_fn, Exact exact_fn) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = vector_fn(x[i]);  // vectorized at -O3
  Report r;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error(y[i], exact_fn(static_cast<double>(x[i])));
    if (!(e <= r.max_ulps)) {
      r.max_ulps = e;
      r.worst_input = x[i];
    }
  }
  return r;
}

const std::vector<float>& inputs() {
  static const std::vector<float> x = sweep_inputs();
  return x;
}

TEST(VectorMath, ExpWithinBound) {
  const Report r = measure(inputs(), [](float v) { return vmath::exp(v); }, [](double v) { return std::exp(v); });
  EXPECT_LE(r.max_ulps, kExpUlps) << "worst at x = " << r.worst_input;
}

TEST(VectorMath, LogWithinBound) {
  const Report r = measure(inputs(), [](float v) { return vmath::log(v); }, [](double v) { return std::log(v); });
  EXPECT_LE(r.max_ulps, kLogUlps) << "worst at x = " << r.worst_input;
}

TEST(VectorMath, TanhWithinBound) {
  const Report r = measure(inputs(), [](float v) { return vmath::tanh(v); }, [](double v) { return std::tanh(v); });
  EXPECT_LE(r.max_ulps, kTanhUlps) << "worst at x = " << r.worst_input;
}

// Bitwise agreement with the C library (any NaN for NaN) on special and boundary inputs.
void expect_same(float got, float expected, const char* fn, float x) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(got)) << fn << "(" << x << ") = " << got;
  } else {
    EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(expected))
        << fn << "(" << x << ") = " << got << ", the C library gives " << expected;
  }
}

TEST(VectorMath, SpecialValuesMatchTheCLibrary) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float tiny = std::numeric_limits<float>::denorm_min(), max = std::numeric_limits<float>::max();
  // Inputs where the result is exact: 0, 1, +-inf, NaN, +-1, or x itself.
  for (float x : {0.0f, -0.0f, inf, -inf, nan, tiny, -tiny, max, -max, 200.0f, -200.0f,
                  88.72283172607422f, 88.72283935546875f,      // e^x: the last finite result, the first inf
                  -103.97207641601562f, -103.97208404541016f})  // the last nonzero result, the first 0
    expect_same(vmath::exp(x), std::exp(x), "exp", x);
  for (float x : {0.0f, -0.0f, inf, -inf, nan, -tiny, -1.0f, -max, 1.0f}) expect_same(vmath::log(x), std::log(x), "log", x);
  for (float x : {0.0f, -0.0f, inf, -inf, nan, tiny, -tiny, 1e-30f, -1e-30f, 10.0f, -10.0f, max, -max})
    expect_same(vmath::tanh(x), std::tanh(x), "tanh", x);
}

}  // namespace
}  // namespace trifecta
