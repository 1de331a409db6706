// Unary kernel bodies, shared by both devices as templates over the elementwise loop: pick the functor for
// the runtime op, the C++ type for the dtype, bind the op's parameters (a formula choice at compile time, see
// with_first_parameter), run the loop.
#pragma once

#include "kernels/elementwise/unary_ops.h"
#include "kernels/kernel_signatures.h"

namespace trifecta {

template <class Loop>
struct UnaryKernels {
  static void forward(UnaryOp op, double a, double b, const Tensor& x, const Tensor& out) {
    visit_unary(op, [&](auto op_tag) {
      using Op = typename decltype(op_tag)::type;
      dispatch_dtype<Op::kDTypes>(x.dtype(), Op::kName, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        with_first_parameter<Op, C>(a, [&](auto first) {
          Loop::template run<T, T>(Op::kName, out, UnaryForward<Op, C, decltype(first)>{first, static_cast<C>(b)}, x);
        });
      });
    });
  }
  // Gradients exist for floating tensors only (requires_grad_ refuses the others).
  static void backward(UnaryOp op, double a, double b, const Tensor& x, const Tensor& y, const Tensor& grad_out,
                       const Tensor& grad_in) {
    visit_unary(op, [&](auto op_tag) {
      using Op = typename decltype(op_tag)::type;
      dispatch_dtype<DTypeSet::Floating>(x.dtype(), Op::kName, [&](auto tag) {
        using T = typename decltype(tag)::type;
        using C = compute_t<T>;
        with_first_parameter<Op, C>(a, [&](auto first) {
          Loop::template run<T, T, T, T>(Op::kName, grad_in,
                                         UnaryBackward<Op, C, decltype(first)>{first, static_cast<C>(b)}, x, y, grad_out);
        });
      });
    });
  }
};

}  // namespace trifecta

#define TRIFECTA_REGISTER_ONE_UNARY(name, dtypes, saves, fwd, bwd) \
  TRIFECTA_REGISTER_KERNEL(name, TRIFECTA_UNARY_DEVICE, &UnaryKernels<TRIFECTA_UNARY_LOOP>::forward);

// Registers every unary op and the shared backward kernel for one device.
#define TRIFECTA_REGISTER_UNARY_KERNELS()                  \
  TRIFECTA_UNARY_OPS(TRIFECTA_REGISTER_ONE_UNARY)          \
  TRIFECTA_REGISTER_KERNEL(unary_backward, TRIFECTA_UNARY_DEVICE, &UnaryKernels<TRIFECTA_UNARY_LOOP>::backward)
