// float32 exp, log and tanh for CPU loops, written so that the compiler vectorizes the loops that
// call them. glibc's expf, logf and tanhf are accurate, but they are calls the vectorizer cannot
// look into (its vector variants, libmvec, need -ffast-math), so any loop calling one runs one element at
// a time. These are inline, branch-free (special cases are selects, not branches), table-free, and do
// their integer work on bit patterns, so a loop over them becomes 8- or 16-wide SIMD code.
//
// Each reduces its argument to a short interval and evaluates a polynomial there, in Horner form with
// fused multiply-adds. The coefficients are weighted minimax fits (Lawson's algorithm) to the relative
// error of the final result, rounded to float. Largest errors against the float64 functions, in units in
// the last place of the float32 result (among subnormal results: of the subnormal spacing), over the
// inputs of tests/unit/vector_math_test.cpp (a 2^-10 grid on [-100, 100], every 331st float of the whole
// range, every float near each threshold), and the bounds that test asserts; the C library's for scale:
//
//            max     asserted   glibc (2.36)
//   exp      1.02    1.5        0.50
//   log      0.83    1.0        0.81
//   tanh     1.33    1.5        2.13
//
// Special values follow the C library: exp(-inf) = 0, exp(+inf) = +inf, exp(x) overflows to +inf above
// ln(FLT_MAX) = 88.72284 and underflows to 0 below -103.97; log(0) = -inf, log(x < 0) = NaN,
// log(+inf) = +inf; tanh(+-inf) = +-1; signed zeros are kept (tanh(-0) = -0); NaN in, NaN out.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace trifecta::vmath {

// Always inlined: a call left in a loop stops it vectorizing, and in a translation unit that instantiates
// hundreds of loops (kernels/elementwise/unary_cpu.cpp) the inliner's growth limits would otherwise keep
// some calls out of line.
#define TRIFECTA_VMATH_INLINE [[gnu::always_inline]] inline

namespace detail {

// a * b + c, fused where the target has FMA (one rounding, and one instruction), else two roundings.
TRIFECTA_VMATH_INLINE float mul_add(float a, float b, float c) {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

TRIFECTA_VMATH_INLINE float bits_to_float(uint32_t u) { return std::bit_cast<float>(u); }
TRIFECTA_VMATH_INLINE uint32_t float_to_bits(float f) { return std::bit_cast<uint32_t>(f); }

// 2^n for integer n in [-126, 127], built in the exponent field.
TRIFECTA_VMATH_INLINE float exp2i(int32_t n) { return bits_to_float(static_cast<uint32_t>(n + 127) << 23); }

}  // namespace detail

// e^x. With n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2]: e^x = 2^n e^r, and
// e^r = 1 + r + r^2 P(r) with P of degree 4. ln 2 is split in two (Cody & Waite, 1980) so that n ln2_hi is
// exact and r carries no rounding error of its own. 2^n is applied as two factors 2^(n/2) 2^(n - n/2),
// each a normal float for every n in [-150, 128], so the product overflows to inf and underflows
// through the subnormals to 0 exactly where e^x does, with one rounding at the end.
TRIFECTA_VMATH_INLINE float exp(float x) {
  using namespace detail;
  // Beyond these, e^x is inf or 0 whatever x is; clamping keeps n in range (and NaN passes through).
  const float xc = x > 89.0f ? 89.0f : (x < -104.0f ? -104.0f : x);
  // n = round(x log2 e): adding 1.5 * 2^23 pushes the fraction bits out of the significand, leaving n in
  // the low bits of the sum.
  constexpr float kRoundShift = 12582912.0f;
  const float shifted = mul_add(xc, 1.44269504088896341f, kRoundShift);
  const float n = shifted - kRoundShift;
  const int32_t ni = static_cast<int32_t>(float_to_bits(shifted) - float_to_bits(kRoundShift));
  float r = mul_add(n, -0.693145751953125f, xc);  // ln2_hi: 16 significant bits, so n * ln2_hi is exact
  r = mul_add(n, -1.428606765330187e-06f, r);     // ln2_lo = ln 2 - ln2_hi
  float p = 1.3810338e-3f;
  p = mul_add(p, r, 8.3707748e-3f);
  p = mul_add(p, r, 4.1668594e-2f);
  p = mul_add(p, r, 1.6666503e-1f);
  p = mul_add(p, r, 4.9999991e-1f);
  const float er = mul_add(p, r * r, r) + 1.0f;
  const int32_t half = ni >> 1;
  return er * exp2i(half) * exp2i(ni - half);
}

// Natural logarithm. x = 2^e m with m in [sqrt(1/2), sqrt(2)), so log x = e ln 2 + log(1 + f) with
// f = m - 1 in [-0.29, 0.41], and log(1 + f) = f - f^2/2 + f^3 Q(f) with Q of degree 7. Subnormal x are
// scaled by 2^23 first.
TRIFECTA_VMATH_INLINE float log(float x) {
  using namespace detail;
  // Every test is on the bits, as integers. The compiler may turn selects into branches and back; it only
  // turns them back (if-conversion, which vectorization needs) when no operation inside could raise a
  // floating-point exception, and under the default -ftrapping-math a float comparison could.
  const uint32_t x_bits = float_to_bits(x);
  const bool subnormal = x_bits < 0x00800000u;  // also +0, settled at the end
  const uint32_t bits = float_to_bits(x * (subnormal ? 8388608.0f : 1.0f));
  // Exponent e and significand m in [1, 2); if m >= sqrt(2), halve m and bump e. The exponent field
  // becomes a float by placing it in the low bits of 2^23's significand and subtracting 2^23 (an int-to-
  // float conversion counts as possibly raising "inexact", and would block if-conversion as well).
  const bool high = (bits & 0x007fffffu) >= 0x003504f3u;  // the significand bits of sqrt(2)
  const float exponent_field = bits_to_float(0x4b000000u | ((bits >> 23) & 0xff)) - 8388608.0f;
  const float ef = exponent_field - (subnormal ? 150.0f : 127.0f) + (high ? 1.0f : 0.0f);
  const float m = bits_to_float((bits & 0x007fffffu) | (high ? 0x3f000000u : 0x3f800000u));
  const float f = m - 1.0f;
  float q = -7.6461017e-2f;
  q = mul_add(q, f, 1.2779114e-1f);
  q = mul_add(q, f, -1.3164186e-1f);
  q = mul_add(q, f, 1.4199696e-1f);
  q = mul_add(q, f, -1.6622765e-1f);
  q = mul_add(q, f, 2.0001292e-1f);
  q = mul_add(q, f, -2.5000837e-1f);
  q = mul_add(q, f, 3.3333331e-1f);
  const float f2 = f * f;
  // e ln2 + f - f^2/2 + f^3 Q, summed small terms first; ln 2 split as in exp so e * ln2_hi is exact.
  float y = mul_add(f2 * f, q, ef * -2.12194440e-4f);  // ln2_lo
  y = mul_add(f2, -0.5f, y);
  y = (f + y) + ef * 0.693359375f;  // ln2_hi
  // Special cases: NaN and x < 0 (-inf included) give NaN, +-0 gives -inf, +inf gives +inf.
  y = x_bits > 0x7f800000u ? NAN : y;
  y = (x_bits & 0x7fffffffu) == 0 ? -INFINITY : y;
  return x_bits == 0x7f800000u ? INFINITY : y;
}

// Hyperbolic tangent. Small |x| < 0.625: x + x^3 S(x^2) with S of degree 4. Otherwise
// tanh|x| = 1 - 2 / (e^(2|x|) + 1), where the subtraction loses no accuracy (the result is above 0.55)
// and e^(2|x|) = inf gives exactly 1. The sign is put back last.
TRIFECTA_VMATH_INLINE float tanh(float x) {
  using namespace detail;
  const float a = std::fabs(x);
  const float z = x * x;
  float s = -5.7049873e-3f;
  s = mul_add(s, z, 2.0639088e-2f);
  s = mul_add(s, z, -5.3739715e-2f);
  s = mul_add(s, z, 1.3331442e-1f);
  s = mul_add(s, z, -3.3333281e-1f);
  const float small = mul_add(s * z, a, a);
  const float large = 1.0f - 2.0f / (exp(2.0f * a) + 1.0f);
  return std::copysign(a < 0.625f ? small : large, x);
}

#undef TRIFECTA_VMATH_INLINE

}  // namespace trifecta::vmath
