// CPU g-SGD layer update: rows of the weight in parallel, each element updated by gsgd_weight_update
// (kernels/optim/gsgd_ops.h), the function the CUDA kernel applies too.
#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/optim/gsgd_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

void gsgd_layer_step_cpu(const GsgdLayerStepArgs& args, const Tensor& weight, const Tensor& grad,
                         const Tensor& row_scale, const Tensor& column_scale, const Tensor& column_factor,
                         const Tensor& skeleton_factor) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  if (rows == 0 || columns == 0) return;
  dispatch_dtype<DTypeSet::Floating>(weight.dtype(), "gsgd_layer_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    T* w = static_cast<T*>(weight.raw_data());
    const T* g = static_cast<const T*>(grad.raw_data());
    const int64_t w_row = weight.stride(0), w_col = weight.stride(1);
    const int64_t g_row = grad.stride(0), g_col = grad.stride(1);
    const T* rs = data_or_null<T>(row_scale);
    const T* cs = data_or_null<T>(column_scale);
    const T* cf = data_or_null<T>(column_factor);
    const T* sf = data_or_null<T>(skeleton_factor);
    const C neg_lr = static_cast<C>(-args.lr);
    const int64_t grain_rows = kElementwiseGrain / columns + 1;
    parallel_for(0, rows, grain_rows, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        for (int64_t a = 0; a < columns; ++a) {
          T& element = w[i * w_row + a * w_col];
          const C updated = gsgd_weight_update<C, T>(args.skeleton, neg_lr, convert<C>(element),
                                                     convert<C>(g[i * g_row + a * g_col]), i, a, rows, columns, rs,
                                                     cs, cf, sf);
          element = convert<T>(updated);
        }
      }
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(gsgd_layer_step, CPU, &gsgd_layer_step_cpu);

}  // namespace trifecta
