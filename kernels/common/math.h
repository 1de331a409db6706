// Scalar math for kernels, callable from host and device with float or double, and integer arithmetic that
// wraps as PyTorch's does (below). On the device the float functions map to CUDA's math library (expf, ...);
// on the host to the C library, except float exp, log and tanh, which take the vectorizable versions of
// kernels/common/vector_math.h (within 1.5 ulp of the exact result, the C library's within 0.5 to 2.2), so
// loops over them run in SIMD. The devices may differ in the last ulp or two, which the CUDA-vs-CPU
// tolerances allow for.
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/common/vector_math.h"
#include "tensor/half.h"

namespace trifecta::math {

#define TRIFECTA_MATH_UNARY(name, ffun, dfun)            \
  TRIFECTA_HD inline float name(float x) { return ::ffun(x); } \
  TRIFECTA_HD inline double name(double x) { return ::dfun(x); }

TRIFECTA_MATH_UNARY(expm1, expm1f, expm1)
TRIFECTA_MATH_UNARY(log1p, log1pf, log1p)
TRIFECTA_MATH_UNARY(sqrt, sqrtf, sqrt)
TRIFECTA_MATH_UNARY(sin, sinf, sin)
TRIFECTA_MATH_UNARY(cos, cosf, cos)
TRIFECTA_MATH_UNARY(fabs, fabsf, fabs)
TRIFECTA_MATH_UNARY(floor, floorf, floor)
#undef TRIFECTA_MATH_UNARY

// float on the host: vmath; float on the device and double everywhere: the math library.
#if defined(__CUDA_ARCH__)
#define TRIFECTA_MATH_UNARY_VECTORIZED(name, ffun, dfun)        \
  TRIFECTA_HD inline float name(float x) { return ::ffun(x); } \
  TRIFECTA_HD inline double name(double x) { return ::dfun(x); }
#else  // always inlined, like vmath itself, so that loops calling them vectorize
#define TRIFECTA_MATH_UNARY_VECTORIZED(name, ffun, dfun)                                \
  [[gnu::always_inline]] TRIFECTA_HD inline float name(float x) { return vmath::name(x); } \
  TRIFECTA_HD inline double name(double x) { return ::dfun(x); }
#endif
TRIFECTA_MATH_UNARY_VECTORIZED(exp, expf, exp)
TRIFECTA_MATH_UNARY_VECTORIZED(log, logf, log)
TRIFECTA_MATH_UNARY_VECTORIZED(tanh, tanhf, tanh)
#undef TRIFECTA_MATH_UNARY_VECTORIZED

TRIFECTA_HD inline float pow(float x, float y) { return ::powf(x, y); }
TRIFECTA_HD inline double pow(double x, double y) { return ::pow(x, y); }
TRIFECTA_HD inline float rsqrt(float x) {
#if defined(__CUDA_ARCH__)
  return ::rsqrtf(x);
#else
  return 1.0f / ::sqrtf(x);
#endif
}
TRIFECTA_HD inline double rsqrt(double x) {
#if defined(__CUDA_ARCH__)
  return ::rsqrt(x);
#else
  return 1.0 / ::sqrt(x);
#endif
}
#if defined(__CUDA_ARCH__)
TRIFECTA_HD inline bool isfinite(float x) { return ::isfinite(x); }
TRIFECTA_HD inline bool isfinite(double x) { return ::isfinite(x); }
TRIFECTA_HD inline bool isnan(float x) { return ::isnan(x); }
TRIFECTA_HD inline bool isnan(double x) { return ::isnan(x); }
#else
inline bool isfinite(float x) { return std::isfinite(x); }
inline bool isfinite(double x) { return std::isfinite(x); }
inline bool isnan(float x) { return std::isnan(x); }
inline bool isnan(double x) { return std::isnan(x); }
#endif

// ---- Integer arithmetic wraps ----
// PyTorch's integer add, sub, mul and neg wrap modulo 2^bits (two's complement) on every device: int32 max
// + 1 is int32 min. In C++ a signed overflow is undefined behaviour (UBSan reports it, and the optimizer
// may assume it never happens), so signed integers go through their unsigned type, whose arithmetic is
// defined modulo 2^bits, and back (a conversion C++20 defines as the same wrap). Other types compute as
// written, so the op lists can use these for every dtype.
template <class T>
inline constexpr bool kWrapsThroughUnsigned = std::is_integral_v<T> && std::is_signed_v<T>;

template <class T> TRIFECTA_HD inline T wrapping_add(T a, T b) {
  if constexpr (kWrapsThroughUnsigned<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <class T> TRIFECTA_HD inline T wrapping_sub(T a, T b) {
  if constexpr (kWrapsThroughUnsigned<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return a - b;
  }
}
template <class T> TRIFECTA_HD inline T wrapping_mul(T a, T b) {
  if constexpr (kWrapsThroughUnsigned<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}
template <class T> TRIFECTA_HD inline T wrapping_neg(T x) { return wrapping_sub(T(0), x); }

// x^n for integers, as PyTorch's integer pow: exact modulo 2^bits for n >= 0 (repeated squaring, wrapping
// like a product), and for n < 0 the integer part of 1 / x^|n|: 1 for x = 1, +-1 for x = -1 (by the parity
// of n), 0 otherwise, x = 0 included (PyTorch gives 0 there, not an error).
template <class T>
TRIFECTA_HD inline std::enable_if_t<std::is_integral_v<T>, T> pow(T x, T n) {
  if (n < T(0)) return x == T(1) ? T(1) : x == T(-1) ? (n % T(2) == T(0) ? T(1) : T(-1)) : T(0);
  T result = 1;
  for (T e = n, base = x; e > T(0); e /= T(2)) {
    if (e % T(2) == T(1)) result = wrapping_mul(result, base);
    base = wrapping_mul(base, base);
  }
  return result;
}

// Generic helpers that also serve integer types. abs wraps like neg: |int32 min| is int32 min.
template <class T> TRIFECTA_HD inline T max(T a, T b) { return a > b ? a : b; }
template <class T> TRIFECTA_HD inline T min(T a, T b) { return a < b ? a : b; }
template <class T> TRIFECTA_HD inline T abs(T x) { return x < T(0) ? wrapping_neg(x) : x; }

// NaN-propagating max/min for reductions and maximum/minimum (PyTorch semantics: NaN wins).
template <class T> TRIFECTA_HD inline T nan_max(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (math::isnan(a) || math::isnan(b)) return a + b;
  }
  return a > b ? a : b;
}
template <class T> TRIFECTA_HD inline T nan_min(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (math::isnan(a) || math::isnan(b)) return a + b;
  }
  return a < b ? a : b;
}

}  // namespace trifecta::math
