// Binary, comparison and where kernel bodies, shared by both devices as templates over the loop.
#pragma once

#include "kernels/elementwise/binary_ops.h"
#include "kernels/kernel_signatures.h"

namespace trifecta {

template <class Loop>
struct BinaryKernels {
  static void forward(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    visit_binary(op, [&](auto op_tag) {
      using Op = typename decltype(op_tag)::type;
      dispatch_dtype<Op::kDTypes>(a.dtype(), Op::kName, [&](auto tag) {
        using T = typename decltype(tag)::type;
        Loop::template run<T, T, T>(Op::kName, out, BinaryForward<Op, compute_t<T>>{}, a, b);
      });
    });
  }
  // Gradients exist for floating tensors only (requires_grad_ refuses the others).
  static void backward(BinaryOp op, int which, const Tensor& a, const Tensor& b, const Tensor& y,
                       const Tensor& grad_out, const Tensor& grad_in) {
    visit_binary(op, [&](auto op_tag) {
      using Op = typename decltype(op_tag)::type;
      dispatch_dtype<DTypeSet::Floating>(a.dtype(), Op::kName, [&](auto tag) {
        using T = typename decltype(tag)::type;
        Loop::template run<T, T, T, T, T>(Op::kName, grad_in, BinaryGrad<Op, compute_t<T>>{which}, a, b, y, grad_out);
      });
    });
  }
  static void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    visit_compare(op, [&](auto op_tag) {
      using Op = typename decltype(op_tag)::type;
      dispatch_dtype<DTypeSet::All>(a.dtype(), Op::kName, [&](auto tag) {
        using T = typename decltype(tag)::type;
        Loop::template run<bool, T, T>(Op::kName, out, CompareForward<Op, compute_t<T>>{}, a, b);
      });
    });
  }
  static void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    dispatch_dtype<DTypeSet::All>(a.dtype(), "where", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Loop::template run<T, bool, T, T>("where", out, WhereForward<compute_t<T>>{}, cond, a, b);
    });
  }
};

}  // namespace trifecta

#define TRIFECTA_REGISTER_ONE_BINARY(name, dtypes, fwd, ga, gb) \
  TRIFECTA_REGISTER_KERNEL(name, TRIFECTA_BINARY_DEVICE, &BinaryKernels<TRIFECTA_BINARY_LOOP>::forward);
#define TRIFECTA_REGISTER_ONE_COMPARE(name, fwd) \
  TRIFECTA_REGISTER_KERNEL(name, TRIFECTA_BINARY_DEVICE, &BinaryKernels<TRIFECTA_BINARY_LOOP>::compare);

#define TRIFECTA_REGISTER_BINARY_KERNELS()                                                                   \
  TRIFECTA_BINARY_OPS(TRIFECTA_REGISTER_ONE_BINARY)                                                          \
  TRIFECTA_COMPARE_OPS(TRIFECTA_REGISTER_ONE_COMPARE)                                                        \
  TRIFECTA_REGISTER_KERNEL(binary_backward, TRIFECTA_BINARY_DEVICE, &BinaryKernels<TRIFECTA_BINARY_LOOP>::backward); \
  TRIFECTA_REGISTER_KERNEL(where, TRIFECTA_BINARY_DEVICE, &BinaryKernels<TRIFECTA_BINARY_LOOP>::where)
