// CPU layer-norm kernels: the policies of layer_norm_ops.h on the CPU row engine, and the weight and bias
// gradients as column sums over the rows (a block of neighbouring columns per task, so each row contributes
// one contiguous run).
#include <algorithm>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/norm/layer_norm_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cpu.h"

namespace trifecta {
namespace {

constexpr int64_t kColumnBlock = 64;

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

void layer_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                    const Tensor& offset, const Tensor& rstd) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_rows_cpu(layer_norm_forward_policy<T, double>(x, weight, bias, eps, offset, rstd),
                 RowTensors<T, 1>{{static_cast<const T*>(x.raw_data())}, static_cast<T*>(y.raw_data())},
                 RowLayout{x.size(0), x.size(1), 1});
  });
}

// grad_weight[j] = sum_r g[r, j] * xhat[r, j], grad_bias[j] = sum_r g[r, j]; either may be null.
template <class T>
void param_grads(const T* g, const T* x, const compute_t<T>* offset, const compute_t<T>* rstd, int64_t rows, int64_t n,
                 T* grad_weight, T* grad_bias) {
  using A = compute_t<T>;
  const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, rows * kColumnBlock));
  parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t j0 = block * kColumnBlock, width = std::min(kColumnBlock, n - j0);
      A sum_g_xhat[kColumnBlock] = {}, sum_g[kColumnBlock] = {};
      for (int64_t r = 0; r < rows; ++r) {
        const T* g_row = g + r * n + j0;
        const T* x_row = x + r * n + j0;
        const RowCentre<A> centre{convert<A>(x[r * n]), offset[r], rstd[r]};
        for (int64_t j = 0; j < width; ++j) {
          const A gj = convert<A>(g_row[j]);
          sum_g_xhat[j] += gj * layer_norm_xhat(convert<A>(x_row[j]), centre);
          sum_g[j] += gj;
        }
      }
      for (int64_t j = 0; j < width; ++j) {
        if (grad_weight) grad_weight[j0 + j] = convert<T>(sum_g_xhat[j]);
        if (grad_bias) grad_bias[j0 + j] = convert<T>(sum_g[j]);
      }
    }
  });
}

void layer_norm_backward_cpu(const Tensor& grad_y, const Tensor& x, const Tensor& offset, const Tensor& rstd,
                             const Tensor& weight, const Tensor& grad_x, const Tensor& grad_weight,
                             const Tensor& grad_bias) {
  const int64_t rows = x.size(0), n = x.size(1);
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* xs = static_cast<const T*>(x.raw_data());
    const A* offsets = static_cast<const A*>(offset.raw_data());
    const A* rstds = static_cast<const A*>(rstd.raw_data());
    if (grad_x.defined()) {
      const LayerNormBackward<T> policy{xs, n, optional_data<T>(weight), offsets, rstds};
      run_rows_cpu(policy, RowTensors<T, 2>{{g, xs}, static_cast<T*>(grad_x.raw_data())}, RowLayout{rows, n, 1});
    }
    if (grad_weight.defined() || grad_bias.defined())
      param_grads<T>(g, xs, offsets, rstds, rows, n,
                     grad_weight.defined() ? static_cast<T*>(grad_weight.raw_data()) : nullptr,
                     grad_bias.defined() ? static_cast<T*>(grad_bias.raw_data()) : nullptr);
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(layer_norm, CPU, &layer_norm_cpu);
TRIFECTA_REGISTER_KERNEL(layer_norm_backward, CPU, &layer_norm_backward_cpu);

}  // namespace trifecta
