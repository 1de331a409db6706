// CUDA reductions, with the same reducers as the CPU. Two kernels cover every layout:
//   block per output   for long contiguous rows: 256 threads stride through the row with coalesced loads,
//                      then merge their states in shared memory (a fixed tree, so results are
//                      deterministic run to run: no atomics).
//   thread per output  for column layouts and short rows: neighbouring threads own neighbouring outputs,
//                      so a warp's loads of one reduced element are coalesced.
// When there are too few outputs to fill the GPU (a full sum), each output's elements are split across
// blockIdx.y; the partial states go to a workspace and a third kernel merges them in a fixed order.
#include <algorithm>

#include "kernels/kernel_signatures.h"
#include "kernels/reduce/reduce_ops.h"
#include "kernels/reduce/reduce_plan.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

constexpr int kBlock = 256;  // a power of two: the shared-memory tree halves it

// Offset of reduced element r: one multiply when the reduced group is a single dim.
template <bool kFlat>
__device__ int64_t reduced_offset(const DimGroup& reduced, int64_t r) {
  if constexpr (kFlat) return r * reduced.inner_stride();
  else return reduced.offset_of(r);
}

__device__ inline void split_range(int64_t n, int splits, int split, int64_t& begin, int64_t& end) {
  const int64_t chunk = (n + splits - 1) / splits;
  begin = min(n, split * chunk);
  end = min(n, begin + chunk);
}

template <class R, class Out>
__device__ void emit(typename R::State s, int64_t o, int splits, int64_t n, double param, Out* out,
                     typename R::State* workspace) {
  if (splits == 1) out[o] = convert<Out>(R::finalize(s, n, param));
  else workspace[o * splits + blockIdx.y] = s;
}

template <class R, bool kFlat, class T>
__global__ void reduce_block_per_output(ReducePlan plan, const T* x, typename R::Out* out, typename R::State* workspace,
                                        double param) {
  using State = typename R::State;
  using A = typename R::A;
  __shared__ State tree[kBlock];
  const int splits = gridDim.y;
  int64_t begin, end;
  split_range(plan.reduced_count, splits, blockIdx.y, begin, end);
  for (int64_t o = blockIdx.x; o < plan.outputs; o += gridDim.x) {
    const T* base = x + plan.kept.offset_of(o);
    State s = start_state<R>(base, plan.reduced_count);
#pragma unroll 4
    for (int64_t r = begin + threadIdx.x; r < end; r += kBlock)
      s = R::step(s, convert<A>(base[reduced_offset<kFlat>(plan.reduced, r)]), r);
    tree[threadIdx.x] = s;
    __syncthreads();
    for (int width = kBlock / 2; width > 0; width >>= 1) {
      if (threadIdx.x < width) tree[threadIdx.x] = R::combine(tree[threadIdx.x], tree[threadIdx.x + width]);
      __syncthreads();
    }
    if (threadIdx.x == 0) emit<R>(tree[0], o, splits, plan.reduced_count, param, out, workspace);
    __syncthreads();  // tree is reused by the next output
  }
}

template <class R, bool kFlat, class T>
__global__ void reduce_thread_per_output(ReducePlan plan, const T* x, typename R::Out* out,
                                         typename R::State* workspace, double param) {
  using State = typename R::State;
  using A = typename R::A;
  const int splits = gridDim.y;
  int64_t begin, end;
  split_range(plan.reduced_count, splits, blockIdx.y, begin, end);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < plan.outputs; o += stride) {
    const T* base = x + plan.kept.offset_of(o);
    State s = start_state<R>(base, plan.reduced_count);
    for (int64_t r = begin; r < end; ++r) s = R::step(s, convert<A>(base[reduced_offset<kFlat>(plan.reduced, r)]), r);
    emit<R>(s, o, splits, plan.reduced_count, param, out, workspace);
  }
}

// Merges each output's partial states in split order and writes the result.
template <class R>
__global__ void reduce_merge_splits(int64_t outputs, int splits, int64_t n, double param,
                                    const typename R::State* workspace, typename R::Out* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < outputs; o += stride) {
    typename R::State s = workspace[o * splits];
    for (int k = 1; k < splits; ++k) s = R::combine(s, workspace[o * splits + k]);
    out[o] = convert<typename R::Out>(R::finalize(s, n, param));
  }
}

int sm_count() {
  static const int count = [] {
    int device = 0, sms = 0;
    TRIFECTA_CUDA_CHECK(cudaGetDevice(&device), "reduce");
    TRIFECTA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "reduce");
    return sms;
  }();
  return count;
}

template <class R, class T>
void reduce_typed(const ReducePlan& plan, const T* x, typename R::Out* out, double param, Device device) {
  using State = typename R::State;
  const int64_t n = plan.reduced_count, target_blocks = 4 * static_cast<int64_t>(sm_count());
  const bool block_per_output = plan.layout == ReduceLayout::Rows && n >= 128;
  const bool flat = plan.reduced.ndim <= 1;
  const int64_t x_blocks = block_per_output ? std::min<int64_t>(plan.outputs, 1 << 16)
                                            : std::min<int64_t>((plan.outputs + kBlock - 1) / kBlock, 1 << 16);
  // Split the reduced elements only when the outputs alone cannot fill the GPU, and only so far that each
  // thread still folds a fair number of elements.
  int64_t splits = 1;
  if (x_blocks < target_blocks) {
    const int64_t min_per_split = block_per_output ? kBlock * 16 : 32;
    splits = std::clamp<int64_t>(std::min((target_blocks + x_blocks - 1) / x_blocks, n / min_per_split), 1, 65535);
  }
  Tensor workspace;
  State* partials = nullptr;
  if (splits > 1) {
    const int64_t bytes = plan.outputs * splits * static_cast<int64_t>(sizeof(State));
    workspace = empty({(bytes + 7) / 8}, {DType::Int64, device});
    partials = static_cast<State*>(workspace.raw_data());
  }
  const dim3 grid(static_cast<unsigned>(x_blocks), static_cast<unsigned>(splits));
  const auto launch = [&](auto kernel) { kernel<<<grid, kBlock, 0, gpu::stream()>>>(plan, x, out, partials, param); };
  if (block_per_output) flat ? launch(reduce_block_per_output<R, true, T>) : launch(reduce_block_per_output<R, false, T>);
  else flat ? launch(reduce_thread_per_output<R, true, T>) : launch(reduce_thread_per_output<R, false, T>);
  TRIFECTA_CUDA_LAUNCH_CHECK("reduce");
  if (splits > 1) {
    reduce_merge_splits<R><<<gpu::grid_size(plan.outputs, kBlock), kBlock, 0, gpu::stream()>>>(
        plan.outputs, static_cast<int>(splits), n, param, partials, out);
    TRIFECTA_CUDA_LAUNCH_CHECK("reduce");
  }
}

void reduce_cuda(ReduceOp op, const Tensor& x, const Tensor& out, double param) {
  const ReducePlan plan = make_reduce_plan(x, out.shape());
  if (plan.outputs == 0) return;
  dispatch_dtype<DTypeSet::All>(x.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_reducer<T>(op, [&](auto reducer_tag) {
      using R = typename decltype(reducer_tag)::type;
      reduce_typed<R>(plan, static_cast<const T*>(x.raw_data()), static_cast<typename R::Out*>(out.raw_data()), param,
                      x.device());
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(sum, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(mean, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(amax, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(amin, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(argmax, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(argmin, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(logsumexp, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(var, CUDA, &reduce_cuda);
TRIFECTA_REGISTER_KERNEL(count_nonfinite, CUDA, &reduce_cuda);

}  // namespace trifecta
