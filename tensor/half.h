// 16-bit floating-point storage types shared by the CPU and CUDA backends. Kernels never do arithmetic in
// 16 bits: they load, widen to float (compute_t below), compute, and round back. The conversions are plain
// bit manipulation written once for host and device, so both backends round identically (round to nearest,
// ties to even), which is what lets CUDA-vs-CPU tests compare half-precision results exactly.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__CUDACC__)
#define TRIFECTA_HD __host__ __device__
#else
#define TRIFECTA_HD
#endif

namespace trifecta {

namespace detail {
TRIFECTA_HD inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
TRIFECTA_HD inline float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace detail

// bfloat16: the top 16 bits of an IEEE float32 (8 exponent bits, 7 mantissa bits).
struct bfloat16 {
  uint16_t bits = 0;
  bfloat16() = default;
  TRIFECTA_HD explicit bfloat16(float f) {
    uint32_t u = detail::float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN stays a quiet NaN with its sign
      bits = static_cast<uint16_t>((u >> 16) | 0x0040u);
      return;
    }
    // Round to nearest even: add 0x7fff plus the lowest kept bit, then truncate.
    u += 0x7fffu + ((u >> 16) & 1u);
    bits = static_cast<uint16_t>(u >> 16);
  }
  TRIFECTA_HD explicit operator float() const { return detail::bits_float(static_cast<uint32_t>(bits) << 16); }
};

// float16: IEEE binary16 (5 exponent bits, bias 15, 10 mantissa bits, subnormals below 2^-14).
struct float16 {
  uint16_t bits = 0;
  float16() = default;
  TRIFECTA_HD explicit float16(float f) {
    uint32_t x = detail::float_bits(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    if (x >= 0x7f800000u) {  // Inf or NaN
      bits = static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
      return;
    }
    if (x >= 0x477ff000u) {  // >= 65520 rounds past the largest half (65504) to infinity
      bits = static_cast<uint16_t>(sign | 0x7c00u);
      return;
    }
    if (x < 0x38800000u) {  // below 2^-14: a subnormal half counts units of 2^-24
      if (x <= 0x33000000u) {  // <= 2^-25 rounds (ties to even) to zero
        bits = static_cast<uint16_t>(sign);
        return;
      }
      const uint32_t exponent = x >> 23;
      const uint32_t mantissa = (x & 0x7fffffu) | 0x800000u;
      const uint32_t shift = 126u - exponent;  // in [14, 24]
      uint32_t h = mantissa >> shift;
      const uint32_t rest = mantissa & ((1u << shift) - 1u);
      const uint32_t halfway = 1u << (shift - 1u);
      if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
      bits = static_cast<uint16_t>(sign | h);
      return;
    }
    // Normal: rebias the exponent (127 -> 15) and keep 10 mantissa bits; a rounding carry may step into the
    // exponent, which is the correctly rounded result.
    uint32_t h = (x - 0x38000000u) >> 13;
    const uint32_t rest = x & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    bits = static_cast<uint16_t>(sign | h);
  }
  TRIFECTA_HD explicit operator float() const {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exponent = (bits >> 10) & 0x1fu;
    const uint32_t mantissa = bits & 0x3ffu;
    if (exponent == 0) {
      const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
      return sign ? -magnitude : magnitude;
    }
    if (exponent == 31) return detail::bits_float(sign | 0x7f800000u | (mantissa << 13));
    return detail::bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  }
};

// The type kernels compute in: 16-bit floats widen to float, everything else computes in itself.
template <class T> struct compute_type { using type = T; };
template <> struct compute_type<bfloat16> { using type = float; };
template <> struct compute_type<float16> { using type = float; };
template <class T> using compute_t = typename compute_type<T>::type;

// Floating point to a signed integer, one rule on every device: truncation toward zero when the result fits,
// else (NaN, the infinities, values out of range) the integer type's minimum.
//
// Why a rule: C++ leaves the plain cast undefined when the truncated value does not fit, and the hardware
// disagrees. x86's cvttss2si/cvttsd2si return the "integer indefinite" value 0x80...0, the minimum, which is
// what PyTorch gives on the CPU (torch.tensor(nan).to(torch.int32) is -2147483648); CUDA's cvt.rzi saturates
// (+inf to the maximum) and turns NaN into 0; and a compiler folding a constant may do either. The rule keeps
// x86's answer and makes CUDA give it too.
//
// The test: v fits an n-bit integer when -2^(n-1) <= v < 2^(n-1). Both bounds are powers of two, exact in
// every floating type, and NaN fails both comparisons. Values in (-2^(n-1) - 1, -2^(n-1)) would truncate into
// range but fail the test; their truncation is the minimum, which the rule returns anyway.
template <class Int, class Float>
TRIFECTA_HD inline Int float_to_integer(Float v) {
  static_assert(std::is_signed_v<Int>, "float_to_integer: unsigned integers need a rule of their own");
  constexpr Float limit = static_cast<Float>(uint64_t{1} << (8 * sizeof(Int) - 1));  // 2^(n-1)
  return v >= -limit && v < limit ? static_cast<Int>(v) : static_cast<Int>(-limit);
}

// Conversion between any two element types, through float for the 16-bit ones. Floating to integer follows
// float_to_integer's rule; floating to bool is v != 0 (NaN is true), as in PyTorch.
template <class To, class From>
TRIFECTA_HD inline To convert(From v) {
  if constexpr (std::is_same_v<From, bfloat16> || std::is_same_v<From, float16>) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bfloat16> || std::is_same_v<To, float16>) {
    return To(static_cast<float>(v));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    return float_to_integer<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace trifecta
