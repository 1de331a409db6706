// CPU softmax kernels: the softmax policies (softmax_ops.h) on the CPU row engine.
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cpu.h"
#include "kernels/softmax/softmax_ops.h"

namespace trifecta {
namespace {

void softmax_cpu(SoftmaxOp op, const Tensor& x, int dim, const Tensor& y) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "softmax", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const SoftmaxForward<T> policy{op == SoftmaxOp::LogSoftmax};
    run_rows_cpu(policy, RowTensors<T, 1>{{static_cast<const T*>(x.raw_data())}, static_cast<T*>(y.raw_data())},
                 softmax_layout(x, dim));
  });
}

void softmax_backward_cpu(SoftmaxOp op, const Tensor& y, const Tensor& grad_y, int dim, const Tensor& grad_x) {
  dispatch_dtype<DTypeSet::Floating>(y.dtype(), "softmax_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const SoftmaxBackward<T> policy{op == SoftmaxOp::LogSoftmax};
    run_rows_cpu(policy,
                 RowTensors<T, 2>{{static_cast<const T*>(y.raw_data()), static_cast<const T*>(grad_y.raw_data())},
                                  static_cast<T*>(grad_x.raw_data())},
                 softmax_layout(y, dim));
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(softmax, CPU, &softmax_cpu);
TRIFECTA_REGISTER_KERNEL(log_softmax, CPU, &softmax_cpu);
TRIFECTA_REGISTER_KERNEL(softmax_backward, CPU, &softmax_backward_cpu);
TRIFECTA_REGISTER_KERNEL(log_softmax_backward, CPU, &softmax_backward_cpu);

}  // namespace trifecta
