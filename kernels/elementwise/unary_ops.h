// The elementwise unary ops: one line each gives the forward value y = f(x) and the backward dL/dx from
// x, y = f(x) and the incoming gradient g. a and b are the op's scalar parameters (slope, exponent, bounds).
// Both devices instantiate these same functors, so CPU and CUDA cannot drift, and the gradcheck in float64
// tests each backward line against finite differences of its forward line.
//
// Adding a unary op: add one X(...) line here and one TRIFECTA_OP line to kernels/ops.def, a front-end
// function in autograd/ops/unary.cpp, and a test line in tests/ops/unary_spec.cpp.
#pragma once

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

// X(name, dtypes, saves, forward(x, a, b), backward(x, y, g, a, b))
// saves: what backward reads and autograd must keep alive: Input (x), Output (y) or Nothing. Keeping only
// what is needed is what keeps a network's activation memory at PyTorch's level (relu keeps y, not x).
#define TRIFECTA_UNARY_OPS(X)                                                                                  \
  X(neg, Numeric, Nothing, -x, -g)                                                                             \
  X(abs, Numeric, Input, math::abs(x), x > T(0) ? g : (x < T(0) ? -g : T(0)))                                  \
  X(square, Numeric, Input, x * x, T(2) * x * g)                                                               \
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
  X(relu, Floating, Output, x > T(0) ? x : T(0), y > T(0) ? g : T(0))                                          \
  X(leaky_relu, Floating, Input, x > T(0) ? x : a * x, x > T(0) ? g : a * g)                                   \
  X(elu, Floating, Input, x > T(0) ? x : a * math::expm1(x), x > T(0) ? g : g * a * math::exp(x))              \
  /* gelu: a = 0 is the exact x * Phi(x); a = 1 the tanh approximation (Hendrycks & Gimpel 2016, eq. 2). */   \
  X(gelu, Floating, Input, gelu_forward(x, a), g * gelu_derivative(x, a))                                      \
  X(silu, Floating, Input, x / (T(1) + math::exp(-x)), g * silu_derivative(x))                                 \
  /* softplus(x) = log(1 + e^(a x)) / a, and x itself once a x > b (threshold) where the two agree. */         \
  X(softplus, Floating, Input, a * x > b ? x : math::log1p(math::exp(a * x)) / a,                              \
    a * x > b ? g : g / (T(1) + math::exp(-a * x)))                                                            \
  X(pow_scalar, Floating, Input, math::pow(x, a), g * a * math::pow(x, a - T(1)))                              \
  X(clamp, Floating, Input, math::min(math::max(x, a), b), (x >= a && x <= b) ? g : T(0))

enum class UnarySaves : uint8_t { Nothing, Input, Output };

enum class UnaryOp : uint8_t {
#define TRIFECTA_UNARY_ENUM(name, dtypes, saves, fwd, bwd) name,
  TRIFECTA_UNARY_OPS(TRIFECTA_UNARY_ENUM)
#undef TRIFECTA_UNARY_ENUM
};

template <class T>
TRIFECTA_HD inline T gelu_forward(T x, T approximate) {
  if (approximate != T(0)) {
    const T inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);  // sqrt(2/pi) (x + 0.044715 x^3)
    return T(0.5) * x * (T(1) + math::tanh(inner));
  }
  return T(0.5) * x * (T(1) + math::erf(x * T(0.7071067811865476)));
}

template <class T>
TRIFECTA_HD inline T gelu_derivative(T x, T approximate) {
  if (approximate != T(0)) {
    const T inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
    const T t = math::tanh(inner);
    const T dinner = T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
  }
  // d/dx [x Phi(x)] = Phi(x) + x phi(x)
  const T cdf = T(0.5) * (T(1) + math::erf(x * T(0.7071067811865476)));
  const T pdf = T(0.3989422804014327) * math::exp(T(-0.5) * x * x);
  return cdf + x * pdf;
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

// Binds an op's parameters so the elementwise loops see a plain y = f(x).
template <class Op, class T>
struct UnaryForward {
  T a, b;
  TRIFECTA_HD T operator()(T x) const { return Op::template forward<T>(x, a, b); }
};
template <class Op, class T>
struct UnaryBackward {
  T a, b;
  TRIFECTA_HD T operator()(T x, T y, T g) const { return Op::template backward<T>(x, y, g, a, b); }
};

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
