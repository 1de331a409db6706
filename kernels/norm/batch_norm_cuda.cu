// CUDA batch-norm kernels on the shared pieces of batch_norm_ops.h. The channel reductions are
// deterministic (no atomics) and run in two stages: the first splits each channel's M = N * S elements
// into partial states in a workspace, the second merges a channel's partials in a fixed order and
// finishes the channel. How the first stage reads memory depends on the trailing size S:
//
//   S >= 32   "planes": a block per (channel, chunk of the batch) walks the chunk's runs of S contiguous
//             elements, so a warp reads 32 neighbours; the threads' states meet in shared memory.
//   S < 32    "columns" ([N, C] and small maps): x is [N, C * S], a row per sample. Threads take
//             neighbouring columns (coalesced) and threadIdx.y splits the rows; each column's partial
//             state goes to the workspace, and the second stage merges a channel's S columns too.
//
// The elementwise passes (normalize, input gradient) are grid-stride loops over the flat index. An input with
// no elements per channel launches nothing (a grid of zero blocks is a launch error).
#include <algorithm>

#include "kernels/kernel_signatures.h"
#include "kernels/norm/batch_norm_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cuda.cuh"

namespace trifecta {
namespace {

constexpr int kPlaneBlock = 256;
constexpr int kColumnWidth = 32;
constexpr int kColumnSplits = 8;

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

template <class T>
T* optional_data_mut(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// The batch range [first, last) of chunk `chunk` out of `chunks`.
__device__ inline void batch_chunk(int64_t batch, int64_t chunks, int64_t chunk, int64_t& first, int64_t& last) {
  const int64_t per = (batch + chunks - 1) / chunks;
  first = min(batch, chunk * per);
  last = min(batch, first + per);
}

// Grid (C, chunks): partials[c * chunks + chunk].
template <class Fold>
__global__ void __launch_bounds__(kPlaneBlock)
    plane_partials(Fold fold, ChannelLayout layout, typename Fold::State* partials) {
  const int64_t c = blockIdx.x, chunks = gridDim.y;
  int64_t first, last;
  batch_chunk(layout.batch, chunks, blockIdx.y, first, last);
  const int64_t count = (last - first) * layout.spatial;
  typename Fold::State s = fold.init(c);
  for (int64_t e = threadIdx.x; e < count; e += kPlaneBlock) {
    const int64_t n = first + e / layout.spatial, i = e % layout.spatial;
    s = fold.fold(s, (n * layout.channels + c) * layout.spatial + i, c);
  }
  s = row_engine_cuda::block_allreduce<Fold>(s);
  if (threadIdx.x == 0) partials[c * chunks + blockIdx.y] = s;
}

// Block (32, 8), grid (column tiles, chunks): partials[column * chunks + chunk], column = c * S + i.
template <class Fold>
__global__ void __launch_bounds__(kColumnWidth* kColumnSplits)
    column_partials(Fold fold, ChannelLayout layout, typename Fold::State* partials) {
  __shared__ typename Fold::State tile[kColumnSplits][kColumnWidth];
  const int64_t columns = layout.channels * layout.spatial, chunks = gridDim.y;
  const int64_t column = static_cast<int64_t>(blockIdx.x) * kColumnWidth + threadIdx.x;
  int64_t first, last;
  batch_chunk(layout.batch, chunks, blockIdx.y, first, last);
  typename Fold::State s = fold.init(0);
  if (column < columns) {
    const int64_t c = column / layout.spatial;
    s = fold.init(c);
    for (int64_t n = first + threadIdx.y; n < last; n += kColumnSplits) s = fold.fold(s, n * columns + column, c);
  }
  tile[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && column < columns) {
    for (int y = 1; y < kColumnSplits; ++y) s = Fold::combine(s, tile[y][threadIdx.x]);
    partials[column * chunks + blockIdx.y] = s;
  }
}

// Thread per channel: merges the channel's `parts` partial states in order and finishes it.
template <class Fold, class Finish>
__global__ void finish_channels(const typename Fold::State* partials, int64_t channels, int64_t parts, Finish finish) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < channels; c += stride) {
    typename Fold::State s = partials[c * parts];
    for (int64_t p = 1; p < parts; ++p) s = Fold::combine(s, partials[c * parts + p]);
    finish(c, s);
  }
}

template <class F>
__global__ void for_each_index(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

template <class F>
void launch_for_each(const char* op, int64_t n, const F& f) {
  if (n == 0) return;
  constexpr int kBlock = 256;
  for_each_index<<<gpu::grid_size(n, kBlock), kBlock, 0, gpu::stream()>>>(n, f);
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

// finish(c, total) for every channel, total being the fold over the channel's elements (M > 0).
template <class Fold, class Finish>
void reduce_channels(const char* op, const ChannelLayout& layout, const Fold& fold, const Finish& finish,
                     Device device) {
  using State = typename Fold::State;
  const int64_t target_blocks = 4 * static_cast<int64_t>(row_engine_cuda::sm_count(op));
  const bool planes = layout.spatial >= kColumnWidth;
  int64_t chunks, parts;
  if (planes) {
    // Split the batch only as far as the channels alone cannot fill the GPU, keeping ~2048+ elements a block.
    const int64_t by_size = std::max<int64_t>(1, layout.per_channel() / 2048);
    chunks = std::clamp<int64_t>((target_blocks + layout.channels - 1) / layout.channels, 1,
                                 std::max<int64_t>(1, std::min({layout.batch, by_size, int64_t{65535}})));
    parts = chunks;
  } else {
    const int64_t tiles = (layout.channels * layout.spatial + kColumnWidth - 1) / kColumnWidth;
    const int64_t by_size = std::max<int64_t>(1, layout.batch / (8 * kColumnSplits));
    chunks = std::clamp<int64_t>((target_blocks + tiles - 1) / tiles, 1, std::min(by_size, int64_t{65535}));
    parts = layout.spatial * chunks;
  }
  const int64_t bytes = layout.channels * parts * static_cast<int64_t>(sizeof(State));
  const Tensor workspace = empty({(bytes + 7) / 8}, {DType::Int64, device});
  State* const partials = static_cast<State*>(workspace.raw_data());
  if (planes) {
    plane_partials<Fold><<<dim3(static_cast<unsigned>(layout.channels), static_cast<unsigned>(chunks)), kPlaneBlock, 0,
                           gpu::stream()>>>(fold, layout, partials);
  } else {
    const int64_t tiles = (layout.channels * layout.spatial + kColumnWidth - 1) / kColumnWidth;
    column_partials<Fold><<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(chunks)),
                            dim3(kColumnWidth, kColumnSplits), 0, gpu::stream()>>>(fold, layout, partials);
  }
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
  constexpr int kBlock = 128;
  finish_channels<Fold>
      <<<gpu::grid_size(layout.channels, kBlock), kBlock, 0, gpu::stream()>>>(partials, layout.channels, parts, finish);
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

void batch_norm_cuda(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                     const Tensor& running_var, bool training, double momentum, double eps, const Tensor& y,
                     const Tensor& save_offset, const Tensor& save_rstd) {
  const ChannelLayout layout = channel_layout(x.shape());
  if (layout.channels == 0 || layout.per_channel() == 0) return;  // the running statistics stay as they are
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* xs = static_cast<const T*>(x.raw_data());
    A* const offset = static_cast<A*>(save_offset.raw_data());
    A* const rstd = static_cast<A*>(save_rstd.raw_data());
    dispatch_running_dtype<T>(running_mean, [&](auto running_tag) {
      using R = typename decltype(running_tag)::type;
      if (training) {
        const BatchStatsFold<T> fold{xs, layout.spatial};
        const BatchStatsFinish<T, R> finish{fold,
                                            layout.per_channel(),
                                            static_cast<A>(eps),
                                            static_cast<A>(momentum),
                                            offset,
                                            rstd,
                                            optional_data_mut<R>(running_mean),
                                            optional_data_mut<R>(running_var)};
        reduce_channels("batch_norm", layout, fold, finish, x.device());
      } else {
        launch_for_each("batch_norm", layout.channels,
                        EvalStats<T, R>{optional_data<R>(running_mean), optional_data<R>(running_var),
                                        static_cast<A>(eps), offset, rstd});
      }
    });
    launch_for_each("batch_norm", x.numel(),
                    BatchNormApply<T>{layout, xs, static_cast<T*>(y.raw_data()),
                                      ChannelCentre<T>{training ? xs : nullptr, layout.spatial, offset}, rstd,
                                      optional_data<T>(weight), optional_data<T>(bias)});
  });
}

void batch_norm_backward_cuda(const Tensor& grad_y, const Tensor& x, const Tensor& save_offset,
                              const Tensor& save_rstd, const Tensor& weight, bool training, const Tensor& grad_x,
                              const Tensor& grad_weight, const Tensor& grad_bias) {
  const ChannelLayout layout = channel_layout(x.shape());
  if (layout.channels == 0) return;
  if (layout.per_channel() == 0) {  // sums over no elements
    for (const Tensor* t : {&grad_weight, &grad_bias})
      if (t->defined())
        TRIFECTA_CUDA_CHECK(cudaMemsetAsync(t->raw_data(), 0, t->numel() * itemsize(t->dtype()), gpu::stream()),
                            "batch_norm_backward");
    return;
  }
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* xs = static_cast<const T*>(x.raw_data());
    const A* rstd = static_cast<const A*>(save_rstd.raw_data());
    const ChannelCentre<T> centre{training ? xs : nullptr, layout.spatial,
                                  static_cast<const A*>(save_offset.raw_data())};
    const bool input_grad_needs_sums = training && grad_x.defined();
    Tensor sums;
    if (input_grad_needs_sums || grad_weight.defined() || grad_bias.defined()) {
      sums = empty({2 * layout.channels}, {dtype_of<A>(), x.device()});
      reduce_channels("batch_norm_backward", layout, GradSumsFold<T>{g, xs, centre},
                      GradSumsFinish<T>{rstd, static_cast<ChannelGradSums<A>*>(sums.raw_data()),
                                        optional_data_mut<T>(grad_weight), optional_data_mut<T>(grad_bias)},
                      x.device());
    }
    if (!grad_x.defined()) return;
    const ChannelGradSums<A>* channel_sums =
        input_grad_needs_sums ? static_cast<const ChannelGradSums<A>*>(sums.raw_data()) : nullptr;
    launch_for_each("batch_norm_backward", x.numel(),
                    BatchNormInputGrad<T>{layout, g, xs, static_cast<T*>(grad_x.raw_data()), centre, rstd,
                                          optional_data<T>(weight), channel_sums,
                                          A(1) / static_cast<A>(layout.per_channel())});
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(batch_norm, CUDA, &batch_norm_cuda);
TRIFECTA_REGISTER_KERNEL(batch_norm_backward, CUDA, &batch_norm_backward_cuda);

}  // namespace trifecta
