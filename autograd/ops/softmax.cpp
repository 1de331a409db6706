// Front ends of softmax and log_softmax. The kernels want contiguous tensors (rows along dim are then at a
// fixed stride); the backward runs its own kernel from the saved output, because both gradients are
// cheapest in terms of y: dx = y * (g - sum(g * y)) and dx = g - e^y * sum(g).
#include "autograd/ops/softmax.h"

#include "autograd/record.h"
#include "kernels/registry.h"
#include "kernels/softmax/softmax_ops.h"

namespace trifecta {

namespace {

Tensor softmax_op(OpId op, OpId backward_op, SoftmaxOp kind, const Tensor& x, int64_t dim) {
  const char* name = op_name(op);
  TRIFECTA_CHECK(x.defined(), name, "undefined input");
  TRIFECTA_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", x.str());
  TRIFECTA_CHECK(x.ndim() > 0 || dim == 0 || dim == -1, name, "dim ", dim, " out of range for a 0-dim tensor");
  const int d = x.ndim() == 0 ? 0 : wrap_dim(dim, x.ndim(), name);
  const Tensor input = x.detach().contiguous();
  Tensor y = empty(x.shape(), x.options());
  kernel_for<SoftmaxKernel>(op, x.device())(kind, input, d, y);
  record(op, {x}, {y}, [name, backward_op, kind, d, saved = SavedTensor(y)](const Grads& g) {
    const Tensor yv = saved.unpack(name), grad_y = g[0].contiguous();
    Tensor grad_x = empty(yv.shape(), yv.options());
    kernel_for<SoftmaxBackwardKernel>(backward_op, yv.device())(kind, yv, grad_y, d, grad_x);
    return Grads{grad_x};
  });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  return softmax_op(OpId::softmax, OpId::softmax_backward, SoftmaxOp::Softmax, x, dim);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_op(OpId::log_softmax, OpId::log_softmax_backward, SoftmaxOp::LogSoftmax, x, dim);
}

}  // namespace trifecta
