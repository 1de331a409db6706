// topk's front end. Backward: each value's gradient goes back to the position it was taken from, a
// scatter_add into zeros along dim (positions within a line are distinct, so nothing actually accumulates).
#include "autograd/ops/topk.h"

#include "autograd/ops/factories.h"
#include "autograd/ops/index.h"
#include "autograd/record.h"
#include "kernels/registry.h"
#include "kernels/topk/topk_ops.h"

namespace trifecta {

TopkResult topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted: results always come sorted*/) {
  TRIFECTA_CHECK(x.defined(), "topk", "undefined input");
  TRIFECTA_CHECK(x.ndim() >= 1, "topk", "needs an input of at least one dimension, got ", x.str());
  TRIFECTA_CHECK(x.dtype() != DType::Bool, "topk", "cannot rank a bool tensor");
  const int d = wrap_dim(dim, x.ndim(), "topk");
  TRIFECTA_CHECK(k >= 0 && k <= x.size(d), "topk", "k = ", k, " is out of range for dim ", d, " of size ", x.size(d),
                 " in ", x.str());
  Shape shape = x.shape();
  shape[d] = k;
  TopkResult result{empty(shape, x.options()), empty(shape, {DType::Int64, x.device()})};
  kernel_for<TopkKernel>(OpId::topk, x.device())(x, d, k, largest, result.values, result.indices);
  record(OpId::topk, {x}, {result.values, result.indices},
         [d, in_shape = x.shape(), saved = SavedTensor(result.indices)](const Grads& g) {
           return Grads{scatter_add(zeros(in_shape, g[0].options()), d, saved.unpack("topk"), g[0])};
         });
  return result;
}

}  // namespace trifecta
