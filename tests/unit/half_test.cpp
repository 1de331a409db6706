// float16 and bfloat16 conversions (tensor/half.h) against references written from the formats' definitions:
// a bit pattern's value computed with ldexp, and round-to-nearest-even as "the nearer of the two neighbouring
// representable values, the one with an even last bit on a tie", decided in double. Covers every 16-bit
// pattern, every halfway point between neighbouring float16 values, and a sweep of float bit patterns.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "tensor/half.h"

namespace trifecta {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// ---- float16 ----

// IEEE binary16: sign, 5 exponent bits (bias 15), 10 mantissa bits; exponent 0 is subnormal, 31 inf/NaN.
double half_value(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1f, mantissa = bits & 0x3ff;
  double magnitude;
  if (exponent == 0) magnitude = std::ldexp(mantissa, -24);
  else if (exponent == 31) magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : INFINITY;
  else magnitude = std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

bool half_is_nan(uint16_t bits) { return (bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0; }

// The correctly rounded float16 of f. Positive finite halves are ordered like their bit patterns, so the
// neighbours are found by bisection; past the largest finite value (65504) the next step up is 2^16, which
// is where IEEE rounding overflows to infinity.
uint16_t reference_half(float f) {
  if (std::isnan(f)) return 0x7e00;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double x = std::fabs(static_cast<double>(f));
  if (std::isinf(f)) return sign | 0x7c00;
  uint16_t lo = 0, hi = 0x7c00;  // value(lo) <= x < value(hi), with value(0x7c00) taken as 2^16
  const auto value = [](uint16_t b) { return b == 0x7c00 ? 65536.0 : half_value(b); };
  if (x >= 65536.0) return sign | 0x7c00;
  while (hi - lo > 1) {
    const uint16_t mid = static_cast<uint16_t>((lo + hi) / 2);
    (value(mid) <= x ? lo : hi) = mid;
  }
  const double below = x - value(lo), above = value(hi) - x;
  const uint16_t nearest = below < above ? lo : above < below ? hi : (lo % 2 == 0 ? lo : hi);
  return sign | nearest;
}

TEST(Float16, EveryBitPatternWidensExactlyAndRoundTrips) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    float16 h;
    h.bits = bits;
    const float f = static_cast<float>(h);
    const double expected = half_value(bits);
    if (half_is_nan(bits)) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << b;
      ASSERT_EQ(std::signbit(f), (bits & 0x8000) != 0) << std::hex << b;
      const uint16_t back = float16(f).bits;
      ASSERT_TRUE(half_is_nan(back)) << std::hex << b << " came back as " << back;
      ASSERT_EQ(back & 0x8000, bits & 0x8000) << std::hex << b;
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), expected) << std::hex << b;
    ASSERT_EQ(std::signbit(f), (bits & 0x8000) != 0) << std::hex << b;  // -0 stays -0
    ASSERT_EQ(float16(f).bits, bits) << std::hex << b;
  }
}

TEST(Float16, NamedValues) {
  const auto half_bits = [](float f) { return float16(f).bits; };
  EXPECT_EQ(half_bits(0.0f), 0x0000);
  EXPECT_EQ(half_bits(-0.0f), 0x8000);
  EXPECT_EQ(half_bits(1.0f), 0x3c00);
  EXPECT_EQ(half_bits(-2.0f), 0xc000);
  // Ties go to the even neighbour: 1 + 2^-11 lies halfway between 1 (even) and 1 + 2^-10 (odd).
  EXPECT_EQ(half_bits(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(half_bits(1.0f + 3 * 0x1p-11f), 0x3c02);  // halfway between 0x3c01 (odd) and 0x3c02 (even)
  EXPECT_EQ(half_bits(std::nextafter(1.0f + 0x1p-11f, 2.0f)), 0x3c01);
  // Largest finite value, and where rounding overflows: 65520 is halfway to 2^16 and 65504 is odd.
  EXPECT_EQ(half_bits(65504.0f), 0x7bff);
  EXPECT_EQ(half_bits(65519.996f), 0x7bff);
  EXPECT_EQ(half_bits(65520.0f), 0x7c00);
  EXPECT_EQ(half_bits(-65520.0f), 0xfc00);
  EXPECT_EQ(half_bits(1e10f), 0x7c00);
  EXPECT_EQ(half_bits(std::numeric_limits<float>::max()), 0x7c00);
  EXPECT_EQ(half_bits(-INFINITY), 0xfc00);
  // Subnormals count units of 2^-24.
  EXPECT_EQ(half_bits(0x1p-24f), 0x0001);
  EXPECT_EQ(half_bits(0x1p-25f), 0x0000);                            // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(half_bits(std::nextafter(0x1p-25f, 1.0f)), 0x0001);      // just past the tie
  EXPECT_EQ(half_bits(1.5f * 0x1p-24f), 0x0002);                     // tie between 1 and 2 units: even is 2
  EXPECT_EQ(half_bits(2.5f * 0x1p-24f), 0x0002);                     // tie between 2 and 3 units
  EXPECT_EQ(half_bits(0x1p-14f - 0x1p-24f), 0x03ff);                 // largest subnormal
  EXPECT_EQ(half_bits(0x1p-14f - 0x1p-26f), 0x0400);                 // rounds up into the smallest normal
  EXPECT_EQ(half_bits(0x1p-14f), 0x0400);
  EXPECT_EQ(half_bits(-0x1p-24f), 0x8001);
  EXPECT_EQ(half_bits(1e-30f), 0x0000);
  EXPECT_EQ(half_bits(-1e-30f), 0x8000);
  // NaN stays NaN, with its sign.
  EXPECT_TRUE(half_is_nan(half_bits(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(half_is_nan(half_bits(float_of(0x7f800001u))));  // a signalling NaN with a payload below bit 13
  EXPECT_EQ(half_bits(-std::numeric_limits<float>::quiet_NaN()) & 0x8000, 0x8000);
}

TEST(Float16, EveryHalfwayPointRoundsToEven) {
  // Between each pair of neighbouring finite halves: the midpoint and the floats on either side of it.
  for (uint16_t b = 0; b < 0x7bff; ++b) {
    const double mid = (half_value(b) + half_value(static_cast<uint16_t>(b + 1))) / 2;
    const float f = static_cast<float>(mid);
    ASSERT_EQ(static_cast<double>(f), mid) << "midpoints need 12 significant bits, which float has";
    for (float x : {f, std::nextafter(f, 0.0f), std::nextafter(f, INFINITY), -f}) {
      ASSERT_EQ(float16(x).bits, reference_half(x)) << "x = " << x << " (between halves " << std::hex << b << ")";
    }
  }
}

TEST(Float16, SweepOfFloatBitPatternsMatchesReference) {
  // About four million patterns spread over all signs, exponents and mantissas.
  for (uint64_t u = 0; u <= 0xffffffffull; u += 1021) {
    const float f = float_of(static_cast<uint32_t>(u));
    const uint16_t got = float16(f).bits, want = reference_half(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(half_is_nan(got)) << std::hex << u;
      continue;
    }
    ASSERT_EQ(got, want) << "float bits " << std::hex << u << " = " << f;
  }
}

// ---- bfloat16 ----

bool bfloat_is_nan(uint16_t bits) { return (bits & 0x7f80) == 0x7f80 && (bits & 0x7f) != 0; }

// The correctly rounded bfloat16 of f: bfloat16 is float with the low 16 bits dropped, so the neighbours are
// the truncation and the next pattern up (in magnitude); the nearer wins in double, a tie goes to the even one.
// Past the largest finite value the next step is 2^128, where rounding overflows to infinity.
uint16_t reference_bfloat(float f) {
  const uint32_t u = bits_of(f);
  if (std::isnan(f) || std::isinf(f)) return static_cast<uint16_t>(u >> 16);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint16_t lo = static_cast<uint16_t>((u >> 16) & 0x7fff), hi = static_cast<uint16_t>(lo + 1);
  const double x = std::fabs(static_cast<double>(f));
  const double lo_value = float_of(static_cast<uint32_t>(lo) << 16);
  const double hi_value = hi == 0x7f80 ? std::ldexp(1.0, 128) : static_cast<double>(float_of(static_cast<uint32_t>(hi) << 16));
  const double below = x - lo_value, above = hi_value - x;
  return sign | (below < above ? lo : above < below ? hi : (lo % 2 == 0 ? lo : hi));
}

TEST(BFloat16, EveryBitPatternWidensExactlyAndRoundTrips) {
  for (uint32_t b = 0; b <= 0xffff; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    bfloat16 h;
    h.bits = bits;
    const float f = static_cast<float>(h);
    ASSERT_EQ(bits_of(f), b << 16) << std::hex << b;
    const uint16_t back = bfloat16(f).bits;
    if (bfloat_is_nan(bits)) {
      ASSERT_TRUE(bfloat_is_nan(back)) << std::hex << b;
      ASSERT_EQ(back & 0x8000, bits & 0x8000) << std::hex << b;
    } else {
      ASSERT_EQ(back, bits) << std::hex << b;
    }
  }
}

TEST(BFloat16, NamedValues) {
  const auto bf = [](float f) { return bfloat16(f).bits; };
  EXPECT_EQ(bf(1.0f), 0x3f80);
  EXPECT_EQ(bf(-0.0f), 0x8000);
  EXPECT_EQ(bf(1.0f + 0x1p-8f), 0x3f80);                         // tie: 1 is even
  EXPECT_EQ(bf(1.0f + 3 * 0x1p-8f), 0x3f82);                     // tie: 0x3f82 is even
  EXPECT_EQ(bf(std::nextafter(1.0f + 0x1p-8f, 2.0f)), 0x3f81);  // just past the tie
  EXPECT_EQ(bf(float_of(0x7f7f0000u)), 0x7f7f);                  // largest finite bfloat16
  EXPECT_EQ(bf(float_of(0x7f7f7fffu)), 0x7f7f);                  // below the halfway point to 2^128
  EXPECT_EQ(bf(float_of(0x7f7f8000u)), 0x7f80);                  // halfway, 0x7f7f odd: overflows to inf
  EXPECT_EQ(bf(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(bf(-INFINITY), 0xff80);
  EXPECT_EQ(bf(float_of(0x00018000u)), 0x0002);                  // subnormal tie goes to even
  EXPECT_EQ(bf(float_of(0x00008000u)), 0x0000);
  EXPECT_TRUE(bfloat_is_nan(bf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(bfloat_is_nan(bf(float_of(0x7f800001u))));         // payload only in the dropped bits
  EXPECT_TRUE(bfloat_is_nan(bf(float_of(0xffffffffu))));
  EXPECT_EQ(bf(float_of(0xffc00000u)), 0xffc0);
}

TEST(BFloat16, SweepOfFloatBitPatternsMatchesReference) {
  for (uint64_t u = 0; u <= 0xffffffffull; u += 1021) {
    const float f = float_of(static_cast<uint32_t>(u));
    const uint16_t got = bfloat16(f).bits;
    if (std::isnan(f)) {
      ASSERT_TRUE(bfloat_is_nan(got)) << std::hex << u;
      continue;
    }
    ASSERT_EQ(got, reference_bfloat(f)) << "float bits " << std::hex << u;
  }
  // Every tie, and its neighbours, for one binade of each sign.
  for (uint32_t m = 0; m < 0x80; ++m) {
    const uint32_t tie = 0x3f800000u | (m << 16) | 0x8000u;
    for (uint32_t u : {tie, tie - 1, tie + 1, tie | 0x80000000u}) {
      ASSERT_EQ(bfloat16(float_of(u)).bits, reference_bfloat(float_of(u))) << std::hex << u;
    }
  }
}

TEST(Convert, GoesThroughFloatForSixteenBitTypes) {
  EXPECT_EQ(convert<float16>(2.5).bits, 0x4100);
  EXPECT_EQ(convert<bfloat16>(int64_t{-3}).bits, 0xc040);
  EXPECT_EQ(convert<int32_t>(bfloat16(7.0f)), 7);
  EXPECT_EQ(convert<double>(float16(0.1f)), 0.0999755859375);  // 0x2e66, the nearest float16 to 0.1
  EXPECT_EQ(convert<float16>(bfloat16(1.5f)).bits, 0x3e00);
  EXPECT_TRUE(convert<bool>(float16(0.5f)));
  EXPECT_FALSE(convert<bool>(bfloat16(-0.0f)));
}

// Float to integer, the rule of tensor/half.h: in range, truncation toward zero; NaN, the infinities and
// values whose truncation does not fit give the integer type's minimum. The expected values are what Debian's
// PyTorch 1.13 gives on x86 (tensor.to(torch.int32 / torch.int64)) for the same source values; UBSan's
// float-cast-overflow check fails this test wherever the conversion is a plain cast.
template <class Source>
void expect_float_to_integer_rule() {
  SCOPED_TRACE(sizeof(Source));
  const auto from = [](double v) { return convert<Source>(v); };
  constexpr int32_t min32 = std::numeric_limits<int32_t>::min();
  constexpr int64_t min64 = std::numeric_limits<int64_t>::min();
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double v : {nan, inf, -inf, 1e30, -1e30}) {
    EXPECT_EQ(convert<int32_t>(from(v)), min32) << v;
    EXPECT_EQ(convert<int64_t>(from(v)), min64) << v;
    EXPECT_TRUE(convert<bool>(from(v))) << v;
  }
  const std::pair<double, int64_t> in_range[] = {{2.75, 2}, {-2.75, -2}, {0.5, 0}, {-0.5, 0}, {-0.0, 0}, {384, 384}};
  for (const auto& [v, truncated] : in_range) {
    EXPECT_EQ(convert<int32_t>(from(v)), truncated) << v;
    EXPECT_EQ(convert<int64_t>(from(v)), truncated) << v;
    EXPECT_EQ(convert<bool>(from(v)), v != 0) << v;
  }
}

TEST(Convert, FloatToIntegerTruncatesInRangeAndGivesTheMinimumOutside) {
  expect_float_to_integer_rule<float>();
  expect_float_to_integer_rule<double>();
  expect_float_to_integer_rule<float16>();
  expect_float_to_integer_rule<bfloat16>();
  constexpr int32_t min32 = std::numeric_limits<int32_t>::min();
  constexpr int64_t min64 = std::numeric_limits<int64_t>::min();
  // The edges of int32 from double: the truncation decides, so -2^31 - 0.5 still fits.
  EXPECT_EQ(convert<int32_t>(2147483647.0), 2147483647);
  EXPECT_EQ(convert<int32_t>(2147483647.9), 2147483647);
  EXPECT_EQ(convert<int32_t>(2147483648.0), min32);
  EXPECT_EQ(convert<int32_t>(-2147483648.0), min32);
  EXPECT_EQ(convert<int32_t>(-2147483648.5), min32);
  EXPECT_EQ(convert<int32_t>(-2147483649.0), min32);
  EXPECT_EQ(convert<int64_t>(-2147483649.0), -2147483649);
  EXPECT_EQ(convert<int64_t>(3e9), 3000000000);
  // From float: the largest float below 2^31 fits int32, 2^31 does not.
  EXPECT_EQ(convert<int32_t>(2147483520.0f), 2147483520);
  EXPECT_EQ(convert<int32_t>(2147483648.0f), min32);
  EXPECT_EQ(convert<int64_t>(2147483648.0f), 2147483648);
  // The edges of int64: the largest double below 2^63 fits, 2^63 does not.
  EXPECT_EQ(convert<int64_t>(9223372036854774784.0), 9223372036854774784);
  EXPECT_EQ(convert<int64_t>(9223372036854775808.0), min64);
  EXPECT_EQ(convert<int64_t>(-9223372036854775808.0), min64);
  EXPECT_EQ(convert<int64_t>(9223371487098961920.0f), 9223371487098961920);
  EXPECT_EQ(convert<int64_t>(-1e19), min64);
  // 16-bit sources: float16's largest finite value fits; bfloat16 rounds 3e9 to 3003121664 first.
  EXPECT_EQ(convert<int32_t>(float16(65504.0f)), 65504);
  EXPECT_EQ(convert<int64_t>(bfloat16(3e9f)), 3003121664);
  EXPECT_EQ(convert<int32_t>(bfloat16(3e9f)), min32);
  EXPECT_EQ(convert<int64_t>(float16(1e5f)), min64);  // float16 overflows to +inf
}

}  // namespace
}  // namespace trifecta
