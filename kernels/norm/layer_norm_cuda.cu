// CUDA layer-norm kernels: the policies of layer_norm_ops.h on the CUDA row engine (a warp per row up to
// 1024 elements, a block per row above), and the weight and bias gradients as column sums over the rows.
// The column sums are deterministic (no atomics): blocks of 32 columns x 8 row-threads each sum one chunk
// of rows, merging their 8 partials in order, and a second kernel adds each column's chunk partials in
// order.
#include <algorithm>

#include "kernels/kernel_signatures.h"
#include "kernels/norm/layer_norm_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cuda.cuh"

namespace trifecta {
namespace {

constexpr int kTileColumns = 32;
constexpr int kTileRows = 8;

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

template <class T>
T* optional_data_mut(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

void layer_norm_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                     const Tensor& offset, const Tensor& rstd) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "layer_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_rows_cuda("layer_norm", layer_norm_forward_policy<T>(x, weight, bias, eps, offset, rstd),
                  RowTensors<T, 1>{{static_cast<const T*>(x.raw_data())}, static_cast<T*>(y.raw_data())},
                  RowLayout{x.size(0), x.size(1), 1});
  });
}

// Block (32, 8) sums rows [chunk * rows_per_chunk, ...) of 32 neighbouring columns into
// partial_{weight,bias}[chunk * n + column].
template <class T>
__global__ void __launch_bounds__(kTileColumns* kTileRows)
    param_grad_partials(const T* g, const T* x, const compute_t<T>* offset, const compute_t<T>* rstd, int64_t rows,
                        int64_t n, int64_t rows_per_chunk, compute_t<T>* partial_weight, compute_t<T>* partial_bias) {
  using A = compute_t<T>;
  __shared__ A tile_weight[kTileRows][kTileColumns];
  __shared__ A tile_bias[kTileRows][kTileColumns];
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kTileColumns + threadIdx.x;
  const int64_t first = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t last = min(rows, first + rows_per_chunk);
  A sum_g_xhat = A(0), sum_g = A(0);
  if (col < n) {
    for (int64_t r = first + threadIdx.y; r < last; r += kTileRows) {
      const A gj = convert<A>(g[r * n + col]);
      const RowCentre<A> centre{convert<A>(x[r * n]), offset[r], rstd[r]};
      sum_g_xhat += gj * layer_norm_xhat(convert<A>(x[r * n + col]), centre);
      sum_g += gj;
    }
  }
  tile_weight[threadIdx.y][threadIdx.x] = sum_g_xhat;
  tile_bias[threadIdx.y][threadIdx.x] = sum_g;
  __syncthreads();
  if (threadIdx.y == 0 && col < n) {
    for (int y = 1; y < kTileRows; ++y) {
      sum_g_xhat += tile_weight[y][threadIdx.x];
      sum_g += tile_bias[y][threadIdx.x];
    }
    partial_weight[blockIdx.y * n + col] = sum_g_xhat;
    partial_bias[blockIdx.y * n + col] = sum_g;
  }
}

template <class T>
__global__ void param_grad_finish(const compute_t<T>* partial_weight, const compute_t<T>* partial_bias, int64_t chunks,
                                  int64_t n, T* grad_weight, T* grad_bias) {
  using A = compute_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t col = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; col < n; col += stride) {
    A sum_g_xhat = A(0), sum_g = A(0);
    for (int64_t c = 0; c < chunks; ++c) {
      sum_g_xhat += partial_weight[c * n + col];
      sum_g += partial_bias[c * n + col];
    }
    if (grad_weight) grad_weight[col] = convert<T>(sum_g_xhat);
    if (grad_bias) grad_bias[col] = convert<T>(sum_g);
  }
}

template <class T>
void param_grads(const T* g, const T* x, const compute_t<T>* offset, const compute_t<T>* rstd, int64_t rows, int64_t n,
                 T* grad_weight, T* grad_bias, Device device) {
  using A = compute_t<T>;
  const int64_t tiles = (n + kTileColumns - 1) / kTileColumns;
  // Enough chunks of rows to give the GPU about four blocks per SM, each chunk at least 32 rows long.
  const int64_t target_blocks = 4 * static_cast<int64_t>(row_engine_cuda::sm_count("layer_norm_backward"));
  const int64_t chunks = std::clamp<int64_t>((target_blocks + tiles - 1) / tiles, 1,
                                             std::min<int64_t>(65535, std::max<int64_t>(1, rows / 32)));
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  const Tensor workspace = empty({2 * chunks * n}, {dtype_of<A>(), device});
  A* const partial_weight = static_cast<A*>(workspace.raw_data());
  A* const partial_bias = partial_weight + chunks * n;
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(chunks));
  param_grad_partials<T><<<grid, dim3(kTileColumns, kTileRows), 0, gpu::stream()>>>(
      g, x, offset, rstd, rows, n, rows_per_chunk, partial_weight, partial_bias);
  TRIFECTA_CUDA_LAUNCH_CHECK("layer_norm_backward");
  constexpr int kBlock = 256;
  param_grad_finish<T><<<gpu::grid_size(n, kBlock), kBlock, 0, gpu::stream()>>>(partial_weight, partial_bias, chunks, n,
                                                                                grad_weight, grad_bias);
  TRIFECTA_CUDA_LAUNCH_CHECK("layer_norm_backward");
}

void layer_norm_backward_cuda(const Tensor& grad_y, const Tensor& x, const Tensor& offset, const Tensor& rstd,
                              const Tensor& weight, const Tensor& grad_x, const Tensor& grad_weight,
                              const Tensor& grad_bias) {
  const int64_t rows = x.size(0), n = x.size(1);
  if (n == 0) return;  // with rows == 0 the weight and bias gradients are still written (as zeros)
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* xs = static_cast<const T*>(x.raw_data());
    const A* offsets = static_cast<const A*>(offset.raw_data());
    const A* rstds = static_cast<const A*>(rstd.raw_data());
    if (grad_x.defined()) {
      const LayerNormBackward<T> policy{xs, n, optional_data<T>(weight), offsets, rstds};
      run_rows_cuda("layer_norm_backward", policy, RowTensors<T, 2>{{g, xs}, static_cast<T*>(grad_x.raw_data())},
                    RowLayout{rows, n, 1});
    }
    if (grad_weight.defined() || grad_bias.defined())
      param_grads<T>(g, xs, offsets, rstds, rows, n, optional_data_mut<T>(grad_weight), optional_data_mut<T>(grad_bias),
                     x.device());
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(layer_norm, CUDA, &layer_norm_cuda);
TRIFECTA_REGISTER_KERNEL(layer_norm_backward, CUDA, &layer_norm_backward_cuda);

}  // namespace trifecta
