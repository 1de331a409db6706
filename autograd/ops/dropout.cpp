// dropout's front end. The node saves only the (seed, offset) of the draw and p: its backward regenerates
// the mask from them (kernels/dropout/dropout.h says why), so no mask tensor outlives the forward.
#include "autograd/ops/dropout.h"

#include "autograd/record.h"
#include "kernels/dropout/dropout.h"
#include "kernels/registry.h"

namespace trifecta {

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  TRIFECTA_CHECK(x.defined(), "dropout", "undefined input");
  TRIFECTA_CHECK(p >= 0.0 && p <= 1.0, "dropout", "p must lie in [0, 1], got ", p);
  TRIFECTA_CHECK(is_floating(x.dtype()), "dropout", "needs a floating dtype, got ", dtype_name(x.dtype()));
  if (!training || p == 0.0) return x;
  // Element i of x (row-major) uses Philox counter offset + i: a dense copy puts it at position i.
  const Tensor in = x.detach().contiguous();
  const GeneratorState draw = (generator ? *generator : default_generator()).reserve(static_cast<uint64_t>(x.numel()));
  Tensor y = empty(x.shape(), x.options());
  kernel_for<DropoutKernel>(OpId::dropout, x.device())(in, y, draw.seed, draw.offset, p);
  record(OpId::dropout, {x}, {y}, [draw, p](const Grads& g) {
    const Tensor grad_y = g[0].contiguous();
    Tensor grad_x = empty(grad_y.shape(), grad_y.options());
    kernel_for<DropoutKernel>(OpId::dropout_backward, grad_y.device())(grad_y, grad_x, draw.seed, draw.offset, p);
    return Grads{grad_x};
  });
  return y;
}

}  // namespace trifecta
