// The elementwise unary ops: one line each gives the forward value y = f(x) and the backward dL/dx from
// x, y = f(x) and the incoming gradient g. a and b are the op's scalar parameters (slope, exponent, bounds).
// Both devices instantiate these same functors, so CPU and CUDA cannot drift, and the gradcheck in float64
// tests each backward line against finite differences of its forward line.
//
// Special values follow PyTorch: NaN in gives NaN out (relu, clamp and the comparisons written so that a NaN
// fails them), and each backward line gives PyTorch's gradient at NaN and the infinities too.
//
// Adding a unary op (docs/adding-an-op.md): one X(...) line here, one TRIFECTA_OP line in kernels/ops.def, a
// front end in autograd/ops/elementwise.cpp, and a spec line in tests/ops/elementwise_spec.cpp.
#pragma once

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

// X(name, dtypes, saves, forward(x, a, b), backward(x, y, g, a, b))
// dtypes: what the forward kernel takes, Floating or Numeric (the integers too; integer lines wrap on
// overflow as PyTorch's do, through math::wrapping_*). The backward runs for the floating dtypes only, the
// only ones that can require grad. The front end decides what an integer input to a Floating op becomes
// (autograd/ops/elementwise.cpp): float32 for PyTorch's math functions, an Error for its activations.
// saves: what backward reads and autograd must keep alive: Input (x), Output (y) or Nothing. Keeping only
// what is needed is what keeps a network's activation memory at PyTorch's level (relu keeps y, not x).
#define TRIFECTA_UNARY_OPS(X)                                                                                  \
  X(neg, Numeric, Nothing, math::wrapping_neg(x), -g)                                                          \
  X(abs, Numeric, Input, math::abs(x), x > T(0) ? g : (x < T(0) ? -g : T(0)))                                  \
  X(square, Numeric, Input, math::wrapping_mul(x, x), T(2) * x * g)                                            \
  X(exp, Floating, Output, math::exp(x), g * y)                                                                \
  X(expm1, Floating, Output, math::expm1(x), g * (y + T(1)))                                                   \
  X(log, Floating, Input, math::log(x), g / x)                                                                 \
  X(log1p, Floating, Input, math::log1p(x), g / (x + T(1)))                                                    \
  X(sqrt, Floating, Output, math::sqrt(x), g / (T(2) * y))                                                     \
  X(rsqrt, Floating, Output, math::rsqrt(x), T(-0.5) * g * y * y * y)                                          \
  X(reciprocal, Floating, Output, T(1) / x, -g * y * y)                                                        \
  X(sin, Floating, Input, math::sin(x), g * math::cos(x))                                                      \
  X(cos, Floating, Input, math::cos(x), -g * math::sin(x))                                                     \
  X(tanh, Floating, Output, math::tanh(x), g * (T(1) - y * y))                                                 \
  /* sigmoid(x) = 1 / (1 + e^-x); for very negative x, e^-x overflows to inf and y correctly becomes 0. */     \
  X(sigmoid, Floating, Input, T(1) / (T(1) + math::exp(-x)), g * sigmoid_derivative(x))                        \
  /* relu keeps NaN (NaN < 0 fails) and passes the gradient through it, as PyTorch does. */                    \
  X(relu, Numeric, Output, x < T(0) ? T(0) : x, y <= T(0) ? T(0) : g)                                          \
  X(leaky_relu, Floating, Input, x > T(0) ? x : a * x, x > T(0) ? g : a * g)                                   \
  X(elu, Floating, Input, x > T(0) ? x : a * math::expm1(x), x > T(0) ? g : g * a * math::exp(x))              \
  /* gelu: a = 0 is the exact x * Phi(x); a = 1 the tanh approximation (Hendrycks & Gimpel 2016, eq. 2). */   \
  X(gelu, Floating, Input, gelu_forward(x, a), g * gelu_derivative(x, a))                                      \
  X(silu, Floating, Input, x / (T(1) + math::exp(-x)), g * silu_derivative(x))                                 \
  /* softplus(x) = log(1 + e^(a x)) / a, and x itself once a x > b (threshold) where the two agree. */         \
  X(softplus, Floating, Input, a * x > b ? x : math::log1p(math::exp(a * x)) / a,                              \
    a * x > b ? g : g / (T(1) + math::exp(-a * x)))                                                            \
  /* x^a: 0 gradient for a = 0 even at x = 0, where a x^(a-1) would be 0 * inf (PyTorch gives 0 too). */       \
  X(pow_scalar, Numeric, Input, power(x, a), a == T(0) ? T(0) : g * a * power(x, a - T(1)))                    \
  /* NaN in x or in a bound gives NaN; the gradient passes where a <= x <= b (never at NaN). */                \
  X(clamp, Numeric, Input, math::nan_min(math::nan_max(x, a), b), (x >= a && x <= b) ? g : T(0))

enum class UnarySaves : uint8_t { Nothing, Input, Output };

enum class UnaryOp : uint8_t {
#define TRIFECTA_UNARY_ENUM(name, dtypes, saves, fwd, bwd) name,
  TRIFECTA_UNARY_OPS(TRIFECTA_UNARY_ENUM)
#undef TRIFECTA_UNARY_ENUM
};

// x^n. Floating types: the math library's pow, except for the exponents PyTorch takes as products and roots
// (2, 3, 1/2, -1/2, -1, -2); taking them the same way gives its results at the special values too (pow(-inf,
// 0.5) is sqrt(-inf) = NaN, where the C library's pow gives +inf) and exact or correctly rounded values
// elsewhere. Integers (n >= 0, checked by the front end): math::pow's exact power, wrapping on overflow.
template <class T>
TRIFECTA_HD inline T power(T x, T n) {
  if constexpr (std::is_floating_point_v<T>) {
    if (n == T(2)) return x * x;
    if (n == T(3)) return x * x * x;
    if (n == T(0.5)) return math::sqrt(x);
    if (n == T(-0.5)) return math::rsqrt(x);
    if (n == T(-1)) return T(1) / x;
    if (n == T(-2)) return T(1) / (x * x);
  }
  return math::pow(x, n);
}

// ---- gelu ----
// Exact form: gelu(x) = x Phi(x), gelu'(x) = Phi(x) + x phi(x), with Phi and phi the standard normal's
// distribution and density. The textbook Phi(x) = (1 + erf(x / sqrt 2)) / 2 cancels for negative x: in
// float32, erf rounds to -1 near x = -5.5, where Phi(x) ~ 2e-8 is all rounding error, and gelu' there was a
// few percent off. Both forms below stay within a few float32 ulps of float64 over the whole float32 range
// (tests/unit/elementwise_numerics_test.cpp).

// For float: Phi(-|x|) = m q^2 with q^2 = e^(-x^2/2), so phi(x) = q^2 / sqrt(2 pi) shares it. The factor m
// is erfc(z) e^(z^2) / 2 at z = |x| / sqrt 2, from the Chebyshev fit of Numerical Recipes (2nd ed., 6.2:
// erfc(z) = k exp(-z^2 + P(k)), k = 1 / (1 + z/2), relative error below 1.2e-7 for every z >= 0). q comes
// from x^2 split exactly into hi + lo (lo by a fused multiply-add), since rounding x^2 alone would cost a
// relative x^2 2^-24 of the result: q = e^(-hi/4) (1 - lo/4). Callers multiply q in twice, last, so that
// only the final product can leave the normal range: e^(-x^2/2) itself is subnormal from |x| = 13.2 on,
// while gelu'(x) ~ x phi(x) is still normal there.
struct NormalTail {
  float m, q;
};
TRIFECTA_HD inline NormalTail normal_tail(float x) {
  // Beyond |x| = 21, q = e^-110 is 0 in float32; clamping keeps x^2 and its rounding error finite (inf
  // would make lo NaN). NaN becomes 21 here; the callers' own factor x keeps the result NaN.
  const float t = math::min(math::abs(x), 21.0f);
  const float hi = t * t;
#if defined(__CUDA_ARCH__)
  const float lo = ::fmaf(t, t, -hi);
#elif defined(__FMA__)
  const float lo = std::fma(t, t, -hi);
#else
  const float lo = 0.0f;  // no fused multiply-add: x^2 keeps its one rounding
#endif
  const float q = math::exp(-0.25f * hi) * (1.0f - 0.25f * lo);
  const float k = 1.0f / (1.0f + 0.35355339f * t);  // z / 2 = t / (2 sqrt 2)
  float p = 0.17087277f;
  p = p * k - 0.82215223f;
  p = p * k + 1.48851587f;
  p = p * k - 1.13520398f;
  p = p * k + 0.27886807f;
  p = p * k - 0.18628806f;
  p = p * k + 0.09678418f;
  p = p * k + 0.37409196f;
  p = p * k + 1.00002368f;
  p = p * k - 1.26551223f;
  return {0.5f * k * math::exp(p), q};
}

// For double: Phi(-|x|) = erfc(|x| / sqrt 2) / 2, which the math library gives to full precision.
TRIFECTA_HD inline double normal_lower_tail(double x) { return 0.5 * ::erfc(math::abs(x) * 0.7071067811865476); }

// Tanh form (Hendrycks & Gimpel 2016, eq. 2): gelu(x) = x s with s = (1 + tanh u) / 2 = sigmoid(2u),
// u = sqrt(2/pi) (x + 0.044715 x^3). Through e = e^(-2|u|) in [0, 1], s and s (1 - s) neither overflow nor
// cancel (1 + tanh u does, once tanh rounds to -1): with r = 1 / (1 + e), s = r for u >= 0 and e r below,
// and s (1 - s) = e r^2 either way. The tail is ill-conditioned in float32: at x = -10, 2|u| = 87, and one
// rounding of u (an ulp of 87 is 8e-6) would cost 8e-6 of e. So u is formed in double, and for float the
// exponent is split into a float and a small remainder c: h = e^(-|u|) = exp(high) (1 + c). As for the exact
// form, callers multiply h = sqrt(e) in twice, last, so only the final product can leave the normal range.
template <class T>
struct TanhGate {
  T r, h;
  // u has the sign of x (u = sqrt(2/pi) x (1 + 0.044715 x^2)), so s = e r = r h^2 exactly where x < 0.
  TRIFECTA_HD T s(T x) const { return x < T(0) ? (r * h) * h : r; }
};
template <class T>
TRIFECTA_HD inline TanhGate<T> tanh_gate(T x) {
  const double xd = static_cast<double>(x);
  const double u = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);  // finite in double for any finite float
  const double exponent = -math::fabs(u);
  T h;
  if constexpr (std::is_same_v<T, float>) {
    // Where high overflows to -inf (x = +-inf, or |x| > 2e13), the remainder is NaN or +inf; bounding it
    // (float selects, which keep the loop vectorizable where double ones would not) makes it harmless beside
    // exp(-inf) = 0. Elsewhere it is below an ulp of high.
    const float high = static_cast<float>(exponent);
    const float remainder =
        math::min(math::max(static_cast<float>(exponent - static_cast<double>(high)), -1.0f), 1.0f);
    h = math::exp(high) * (1.0f + remainder);
  } else {
    h = math::exp(exponent);
  }
  return {T(1) / (T(1) + h * h), h};
}

template <class T>
TRIFECTA_HD inline T gelu_forward(T x, T approximate) {
  if (approximate != T(0)) {
    const TanhGate<T> gate = tanh_gate(x);
    return x < T(0) ? ((x * gate.r) * gate.h) * gate.h : x * gate.r;
  }
  if constexpr (std::is_same_v<T, float>) {
    const NormalTail tail = normal_tail(x);  // Phi(x) = 1 - Phi(-x) for x >= 0
    return x < 0.0f ? ((x * tail.m) * tail.q) * tail.q : x * (1.0f - (tail.m * tail.q) * tail.q);
  } else {
    const T lower = normal_lower_tail(x);
    return x < T(0) ? x * lower : x * (T(1) - lower);
  }
}

template <class T>
TRIFECTA_HD inline T gelu_derivative(T x, T approximate) {
  constexpr T kInvSqrt2Pi = T(0.3989422804014327);
  if (approximate != T(0)) {
    // s + 2 x s (1 - s) du/dx, with s (1 - s) = r^2 h^2 split between two factors that cannot overflow: x^2
    // is capped where h has long been 0, so a large finite x gives 0 (an infinite x still gives NaN, as in
    // PyTorch).
    const TanhGate<T> gate = tanh_gate(x);
    const T du = T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * math::min(x * x, T(1e30)));
    return gate.s(x) + (x * gate.h) * (T(2) * du * gate.r * gate.r * gate.h);
  }
  if constexpr (std::is_same_v<T, float>) {
    const NormalTail tail = normal_tail(x);  // Phi(x) + x phi(x) = (m + x / sqrt(2 pi)) q^2 below 0
    return x < 0.0f ? ((tail.m + x * kInvSqrt2Pi) * tail.q) * tail.q
                    : 1.0f - ((tail.m - x * kInvSqrt2Pi) * tail.q) * tail.q;
  } else {
    const T lower = normal_lower_tail(x), density = kInvSqrt2Pi * ::exp(T(-0.5) * x * x);
    return (x < T(0) ? lower : T(1) - lower) + x * density;
  }
}

// sigmoid'(x) = s(x) s(-x), from x: the textbook y (1 - y) from the output cancels where y nears 1, and a
// 16-bit y (1 - y has 8 or 11 bits there at most) loses the whole gradient: 30% off at x = 5.5 in bfloat16.
template <class T>
TRIFECTA_HD inline T sigmoid_derivative(T x) {
  return T(1) / ((T(1) + math::exp(-x)) * (T(1) + math::exp(x)));
}

template <class T>
TRIFECTA_HD inline T silu_derivative(T x) {
  const T s = T(1) / (T(1) + math::exp(-x));  // d/dx [x s(x)] = s (1 + x (1 - s))
  return s * (T(1) + x * (T(1) - s));
}

// One functor per op: forward(x, a, b) and backward(x, y, g, a, b) in compute type T.
#define TRIFECTA_UNARY_FUNCTOR(name, dtypes, saves, fwd, bwd)                                                    \
  struct name##_functor {                                                                                \
    static constexpr DTypeSet kDTypes = DTypeSet::dtypes;                                                \
    static constexpr const char* kName = #name;                                                          \
    static constexpr UnarySaves kSaves = UnarySaves::saves;                                              \
    template <class T>                                                                                   \
    TRIFECTA_HD static T forward(T x, [[maybe_unused]] T a, [[maybe_unused]] T b) {                      \
      return fwd;                                                                                        \
    }                                                                                                    \
    template <class T>                                                                                   \
    TRIFECTA_HD static T backward([[maybe_unused]] T x, [[maybe_unused]] T y, T g, [[maybe_unused]] T a, [[maybe_unused]] T b) { \
      return bwd;                                                                                        \
    }                                                                                                    \
  };
TRIFECTA_UNARY_OPS(TRIFECTA_UNARY_FUNCTOR)
#undef TRIFECTA_UNARY_FUNCTOR

// Binds an op's parameters so the elementwise loops see a plain y = f(x). A is T, or a compile-time constant
// (std::integral_constant) for a parameter that only picks a formula (below).
template <class Op, class T, class A = T>
struct UnaryForward {
  A a;
  T b;
  TRIFECTA_HD T operator()(T x) const { return Op::template forward<T>(x, T(a), b); }
};
template <class Op, class T, class A = T>
struct UnaryBackward {
  A a;
  T b;
  TRIFECTA_HD T operator()(T x, T y, T g) const { return Op::template backward<T>(x, y, g, T(a), b); }
};

// An op whose first parameter only picks one of two formulas (gelu: exact or tanh form) runs one loop per
// choice, with the parameter a compile-time 0 or 1: the compiler vectorizes a loop with a choice inside only
// by unswitching it, which it declines for a body as long as gelu's.
template <class Op>
inline constexpr bool kParameterPicksFormula = false;
template <>
inline constexpr bool kParameterPicksFormula<gelu_functor> = true;

// Calls run(a) with the op's first parameter as the loop should see it: C for most ops, 0 or 1 fixed at
// compile time for those above.
template <class Op, class C, class Run>
void with_first_parameter(double a, const Run& run) {
  if constexpr (kParameterPicksFormula<Op>) {
    if (a != 0.0) {
      run(std::integral_constant<int, 1>{});
    } else {
      run(std::integral_constant<int, 0>{});
    }
  } else {
    run(static_cast<C>(a));
  }
}

// Calls f(functor_tag) for the functor type of a runtime UnaryOp.
template <class F>
decltype(auto) visit_unary(UnaryOp op, F&& f) {
  switch (op) {
#define TRIFECTA_UNARY_CASE(name, dtypes, saves, fwd, bwd) \
  case UnaryOp::name: return f(type_tag<name##_functor>{});
    TRIFECTA_UNARY_OPS(TRIFECTA_UNARY_CASE)
#undef TRIFECTA_UNARY_CASE
  }
  TRIFECTA_FAIL("unary", "unknown unary op ", static_cast<int>(op));
}

// What the backward of op reads.
inline UnarySaves unary_saves(UnaryOp op) {
  return visit_unary(op, [](auto op_tag) { return decltype(op_tag)::type::kSaves; });
}

// Kernel signatures, the same on both devices. out and x have one shape; x is not broadcast.
using UnaryKernel = void(UnaryOp op, double a, double b, const Tensor& x, const Tensor& out);
// grad_in = backward(x, y, grad_out); all four have one shape. An op that does not read x (or y) may be
// passed any tensor of the right shape and dtype in that slot.
using UnaryBackwardKernel = void(UnaryOp op, double a, double b, const Tensor& x, const Tensor& y,
                                 const Tensor& grad_out, const Tensor& grad_in);

}  // namespace trifecta
