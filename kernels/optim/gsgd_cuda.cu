// CUDA g-SGD kernels: the layer update, one thread per weight element (grid-stride) applying
// gsgd_weight_update (kernels/optim/gsgd_ops.h), the function the CPU loop applies too, and the outgoing sums,
// one thread per column. Each output element is written by exactly one thread, so results do not depend on
// the launch.
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/kernel_signatures.h"
#include "kernels/optim/gsgd_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

struct GsgdFactors {
  const void* row_scale;
  const void* column_scale;
  const void* column_factor;
  const void* skeleton_factor;
};

template <class T>
__global__ void gsgd_layer_step_kernel(GsgdSkeleton layout, compute_t<T> neg_lr, T* w, const T* g, int64_t rows,
                                       int64_t columns, int64_t w_row, int64_t w_col, int64_t g_row, int64_t g_col,
                                       GsgdFactors factors) {
  using C = compute_t<T>;
  const int64_t n = rows * columns;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < n; index += stride) {
    const int64_t i = index / columns, a = index % columns;
    T& element = w[i * w_row + a * w_col];
    const C updated = gsgd_weight_update<C, T>(
        layout, neg_lr, convert<C>(element), convert<C>(g[i * g_row + a * g_col]), i, a, rows, columns,
        static_cast<const T*>(factors.row_scale), static_cast<const T*>(factors.column_scale),
        static_cast<const T*>(factors.column_factor), static_cast<const T*>(factors.skeleton_factor));
    element = convert<T>(updated);
  }
}

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

void gsgd_layer_step_cuda(const GsgdLayerStepArgs& args, const Tensor& weight, const Tensor& grad,
                          const Tensor& row_scale, const Tensor& column_scale, const Tensor& column_factor,
                          const Tensor& skeleton_factor) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  if (rows == 0 || columns == 0) return;
  constexpr int kBlock = 256;
  const GsgdFactors factors{data_or_null(row_scale), data_or_null(column_scale), data_or_null(column_factor),
                            data_or_null(skeleton_factor)};
  dispatch_dtype<DTypeSet::Floating>(weight.dtype(), "gsgd_layer_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gsgd_layer_step_kernel<T><<<gpu::grid_size(rows * columns, kBlock), kBlock, 0, gpu::stream()>>>(
        args.skeleton, static_cast<compute_t<T>>(-args.lr), static_cast<T*>(weight.raw_data()),
        static_cast<const T*>(grad.raw_data()), rows, columns, weight.stride(0), weight.stride(1), grad.stride(0),
        grad.stride(1), factors);
  });
  TRIFECTA_CUDA_LAUNCH_CHECK("gsgd_layer_step");
}

// One thread per column, adding its rows in order (adjacent threads read adjacent columns: coalesced).
template <class T>
__global__ void gsgd_outgoing_sums_kernel(const T* w, const T* g, T* out, int64_t rows, int64_t columns,
                                          int64_t w_row, int64_t w_col, int64_t g_row, int64_t g_col) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t a = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; a < columns; a += stride)
    out[a] = convert<T>(gsgd_outgoing_sum<compute_t<T>, T>(w + a * w_col, g + a * g_col, rows, w_row, g_row));
}

void gsgd_outgoing_sums_cuda(const Tensor& weight, const Tensor& grad, const Tensor& out) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  if (columns == 0) return;
  constexpr int kBlock = 128;
  dispatch_dtype<DTypeSet::Floating>(weight.dtype(), "gsgd_outgoing_sums", [&](auto tag) {
    using T = typename decltype(tag)::type;
    gsgd_outgoing_sums_kernel<T><<<gpu::grid_size(columns, kBlock), kBlock, 0, gpu::stream()>>>(
        static_cast<const T*>(weight.raw_data()), static_cast<const T*>(grad.raw_data()),
        static_cast<T*>(out.raw_data()), rows, columns, weight.stride(0), weight.stride(1), grad.stride(0),
        grad.stride(1));
  });
  TRIFECTA_CUDA_LAUNCH_CHECK("gsgd_outgoing_sums");
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(gsgd_layer_step, CUDA, &gsgd_layer_step_cuda);
TRIFECTA_REGISTER_KERNEL(gsgd_outgoing_sums, CUDA, &gsgd_outgoing_sums_cuda);

}  // namespace trifecta
