// The elementwise binary ops. Each line gives the forward value y = f(a, b) and the two partial gradients
// dL/da and dL/db from a, b, y and the incoming gradient g. Inputs broadcast (NumPy rules); the front end
// expands them to the output shape before the kernel runs and sums gradients back to each input's shape.
//
// Comparisons produce bool and have no gradient; where(cond, a, b) selects. NaN propagates through every op
// (maximum and minimum included), and comparisons with NaN are false except ne, as in IEEE and PyTorch.
#pragma once

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

// X(name, dtypes, forward(a, b), grad_a(a, b, y, g), grad_b(a, b, y, g))
// dtypes: what the forward kernel takes (Numeric: the integers too, wrapping on overflow as PyTorch's do);
// the gradients run for the floating dtypes only, the only ones that can require grad.
#define TRIFECTA_BINARY_OPS(X)                                                                               \
  X(add, Numeric, math::wrapping_add(a, b), g, g)                                                            \
  X(sub, Numeric, math::wrapping_sub(a, b), g, -g)                                                           \
  X(mul, Numeric, math::wrapping_mul(a, b), g * b, g * a)                                                    \
  X(div, Floating, a / b, g / b, -g * y / b)                                                                 \
  /* Integers: math::pow's exact power (PyTorch's integer pow). PyTorch's pow gradients: d/da = b a^(b-1),   \
     taken as 0 where b = 0 (even at a = 0, where it would be 0 * inf); d/db = a^b log a, taken as 0 where   \
     a = 0 and b >= 0 (0 * -inf), NaN for a < 0 as log a is. */                                             \
  X(pow, Numeric, math::pow(a, b), b == T(0) ? T(0) : g * b * math::pow(a, b - T(1)),                        \
    (a == T(0) && b >= T(0)) ? T(0) : g * y * math::log(a))                                                  \
  /* Ties send half the gradient to each side, as PyTorch does; a NaN operand, neither smaller nor larger,   \
     sends the whole gradient to both (PyTorch again). */                                                    \
  X(maximum, Numeric, math::nan_max(a, b), a < b ? T(0) : (a == b ? g / T(2) : g),                           \
    a > b ? T(0) : (a == b ? g / T(2) : g))                                                                  \
  X(minimum, Numeric, math::nan_min(a, b), a > b ? T(0) : (a == b ? g / T(2) : g),                           \
    a < b ? T(0) : (a == b ? g / T(2) : g))

// X(name, forward(a, b)) -> bool
#define TRIFECTA_COMPARE_OPS(X) \
  X(eq, a == b)                 \
  X(ne, a != b)                 \
  X(lt, a < b)                  \
  X(le, a <= b)                 \
  X(gt, a > b)                  \
  X(ge, a >= b)

enum class BinaryOp : uint8_t {
#define TRIFECTA_BINARY_ENUM(name, dtypes, fwd, ga, gb) name,
  TRIFECTA_BINARY_OPS(TRIFECTA_BINARY_ENUM)
#undef TRIFECTA_BINARY_ENUM
};

enum class CompareOp : uint8_t {
#define TRIFECTA_COMPARE_ENUM(name, fwd) name,
  TRIFECTA_COMPARE_OPS(TRIFECTA_COMPARE_ENUM)
#undef TRIFECTA_COMPARE_ENUM
};

#define TRIFECTA_BINARY_FUNCTOR(name, dtypes, fwd, ga, gb)                                               \
  struct name##_functor {                                                                               \
    static constexpr DTypeSet kDTypes = DTypeSet::dtypes;                                               \
    static constexpr const char* kName = #name;                                                         \
    template <class T>                                                                                  \
    TRIFECTA_HD static T forward(T a, T b) {                                                            \
      return fwd;                                                                                       \
    }                                                                                                   \
    template <class T>                                                                                  \
    TRIFECTA_HD static T grad_a([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y, T g) { \
      return ga;                                                                                        \
    }                                                                                                   \
    template <class T>                                                                                  \
    TRIFECTA_HD static T grad_b([[maybe_unused]] T a, [[maybe_unused]] T b, [[maybe_unused]] T y, T g) { \
      return gb;                                                                                        \
    }                                                                                                   \
  };
TRIFECTA_BINARY_OPS(TRIFECTA_BINARY_FUNCTOR)
#undef TRIFECTA_BINARY_FUNCTOR

#define TRIFECTA_COMPARE_FUNCTOR(name, fwd)              \
  struct name##_compare_functor {                        \
    static constexpr const char* kName = #name;          \
    template <class T>                                   \
    TRIFECTA_HD static bool forward(T a, T b) {          \
      return fwd;                                        \
    }                                                    \
  };
TRIFECTA_COMPARE_OPS(TRIFECTA_COMPARE_FUNCTOR)
#undef TRIFECTA_COMPARE_FUNCTOR

template <class Op, class T>
struct BinaryForward {
  TRIFECTA_HD T operator()(T a, T b) const { return Op::template forward<T>(a, b); }
};
// which = 0: dL/da, which = 1: dL/db.
template <class Op, class T>
struct BinaryGrad {
  int which;
  TRIFECTA_HD T operator()(T a, T b, T y, T g) const {
    return which == 0 ? Op::template grad_a<T>(a, b, y, g) : Op::template grad_b<T>(a, b, y, g);
  }
};
template <class Op, class T>
struct CompareForward {
  TRIFECTA_HD bool operator()(T a, T b) const { return Op::template forward<T>(a, b); }
};
template <class T>
struct WhereForward {
  TRIFECTA_HD T operator()(bool c, T a, T b) const { return c ? a : b; }
};

template <class F>
decltype(auto) visit_binary(BinaryOp op, F&& f) {
  switch (op) {
#define TRIFECTA_BINARY_CASE(name, dtypes, fwd, ga, gb) \
  case BinaryOp::name: return f(type_tag<name##_functor>{});
    TRIFECTA_BINARY_OPS(TRIFECTA_BINARY_CASE)
#undef TRIFECTA_BINARY_CASE
  }
  TRIFECTA_FAIL("binary", "unknown binary op ", static_cast<int>(op));
}

template <class F>
decltype(auto) visit_compare(CompareOp op, F&& f) {
  switch (op) {
#define TRIFECTA_COMPARE_CASE(name, fwd) \
  case CompareOp::name: return f(type_tag<name##_compare_functor>{});
    TRIFECTA_COMPARE_OPS(TRIFECTA_COMPARE_CASE)
#undef TRIFECTA_COMPARE_CASE
  }
  TRIFECTA_FAIL("compare", "unknown comparison ", static_cast<int>(op));
}

// Kernel signatures. All tensors have the output's shape (inputs expanded), one device, one dtype
// (comparisons write bool, where reads a bool condition); the front end promotes the operands to their
// result type first (tensor/promotion.h).
using BinaryKernel = void(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out);
using BinaryBackwardKernel = void(BinaryOp op, int which, const Tensor& a, const Tensor& b, const Tensor& y,
                                  const Tensor& grad_out, const Tensor& grad_in);
using CompareKernel = void(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out);
using WhereKernel = void(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);

}  // namespace trifecta
