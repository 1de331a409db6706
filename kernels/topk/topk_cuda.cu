// CUDA topk, with the CPU's (key, index) ranking (kernels/topk/topk_ops.h), so both devices return the same
// values and indices.
//
//   rows of up to 4096 elements   a block per row sorts (key, index) pairs in shared memory with a bitonic
//                                 network (Batcher, "Sorting networks and their applications", 1968): a
//                                 fixed sequence of compare-exchange stages, log2(n)(log2(n)+1)/2 of them,
//                                 each step fully parallel across the block. The row is padded to a power
//                                 of two with keys that sort last.
//   longer rows                   CUB's segmented radix sort of the keys with each element's position as
//                                 value, one segment per row. Radix sort is stable and positions enter in
//                                 ascending order, so equal keys keep the smaller index first, as in the
//                                 bitonic path.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <algorithm>
#include <climits>

#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"
#include "kernels/topk/topk_ops.h"
#include "kernels/topk/topk_plan.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

// 4096 pairs of a 64-bit key and a 32-bit index fill exactly the 48 KB of shared memory a block may
// use without opting in to more.
constexpr int kBitonicMaxLength = 4096;
constexpr int kBlock = 256;

template <class T>
__global__ void topk_bitonic_kernel(TopkPlan plan, int padded, const T* x, bool largest, T* values,
                                    int64_t* indices) {
  using Key = topk_key_t<T>;
  extern __shared__ __align__(8) unsigned char shared[];
  Key* keys = reinterpret_cast<Key*>(shared);
  int* order = reinterpret_cast<int*>(keys + padded);
  for (int64_t r = blockIdx.x; r < plan.row_count; r += gridDim.x) {
    const T* row = x + plan.rows.offset_of(r);
    for (int j = threadIdx.x; j < padded; j += blockDim.x) {
      const bool real = j < plan.length;
      keys[j] = real ? topk_key(row[j * plan.step], largest) : ~Key{0};
      order[j] = real ? j : INT_MAX;  // padding ranks after every real element, even one with the largest key
    }
    __syncthreads();
    // Stage (size, stride) compare-exchanges i and i + stride for every i whose stride bit is clear, in the
    // direction of i's block of `size` elements; the last merge (size = padded) sorts ascending.
    for (int size = 2; size <= padded; size <<= 1) {
      for (int stride = size / 2; stride > 0; stride >>= 1) {
        for (int t = threadIdx.x; t < padded / 2; t += blockDim.x) {
          const int i = 2 * t - (t & (stride - 1)), j = i + stride;
          const bool ascending = (i & size) == 0;
          const bool out_of_order = keys[i] > keys[j] || (keys[i] == keys[j] && order[i] > order[j]);
          if (out_of_order == ascending) {
            const Key key = keys[i];
            keys[i] = keys[j];
            keys[j] = key;
            const int position = order[i];
            order[i] = order[j];
            order[j] = position;
          }
        }
        __syncthreads();
      }
    }
    for (int j = threadIdx.x; j < plan.k; j += blockDim.x) {
      const int64_t out = plan.out_offset(r, j);
      values[out] = row[static_cast<int64_t>(order[j]) * plan.step];
      indices[out] = order[j];
    }
    __syncthreads();  // the next row reuses the shared arrays
  }
}

template <class T>
__global__ void topk_keys_kernel(TopkPlan plan, const T* x, bool largest, topk_key_t<T>* keys, int* positions) {
  const int64_t total = plan.row_count * plan.length;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t r = e / plan.length, j = e % plan.length;
    keys[e] = topk_key(x[plan.rows.offset_of(r) + j * plan.step], largest);
    positions[e] = static_cast<int>(j);
  }
}

__global__ void topk_segment_offsets_kernel(int64_t rows, int64_t length, int* offsets) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r <= rows; r += stride)
    offsets[r] = static_cast<int>(r * length);
}

template <class T>
__global__ void topk_take_kernel(TopkPlan plan, const T* x, const int* sorted_positions, T* values, int64_t* indices) {
  const int64_t total = plan.row_count * plan.k;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t r = e / plan.k, j = e % plan.k;
    const int64_t position = sorted_positions[r * plan.length + j];
    const int64_t out = plan.out_offset(r, j);
    values[out] = x[plan.rows.offset_of(r) + position * plan.step];
    indices[out] = position;
  }
}

template <class T>
void topk_bitonic(const TopkPlan& plan, const T* x, bool largest, T* values, int64_t* indices) {
  using Key = topk_key_t<T>;
  int padded = 1;
  while (padded < plan.length) padded <<= 1;
  const int threads = std::clamp(padded / 2, 32, 512);
  const size_t shared_bytes = static_cast<size_t>(padded) * (sizeof(Key) + sizeof(int));
  const int blocks = static_cast<int>(std::min<int64_t>(plan.row_count, 1 << 20));
  topk_bitonic_kernel<T><<<blocks, threads, shared_bytes, gpu::stream()>>>(plan, padded, x, largest, values, indices);
  TRIFECTA_CUDA_LAUNCH_CHECK("topk");
}

template <class T>
void topk_radix(const TopkPlan& plan, const T* x, bool largest, T* values, int64_t* indices, Device device) {
  using Key = topk_key_t<T>;
  const int64_t total = plan.row_count * plan.length;
  TRIFECTA_CHECK(total < INT_MAX, "topk", "rows longer than ", kBitonicMaxLength,
                 " elements are sorted with CUB's segmented radix sort, which takes fewer than 2^31 elements in all; got ",
                 plan.row_count, " rows of ", plan.length);
  // Int64 tensors as raw workspace (the caching allocator makes them cheap); sizes rounded up to 8 bytes.
  const auto workspace = [&](int64_t bytes) { return empty({bytes / 8 + 1}, {DType::Int64, device}); };
  const Tensor keys = workspace(total * sizeof(Key)), sorted_keys = workspace(total * sizeof(Key));
  const Tensor positions = workspace(total * sizeof(int)), sorted_positions = workspace(total * sizeof(int));
  const Tensor offsets = workspace((plan.row_count + 1) * sizeof(int));
  auto* keys_in = static_cast<Key*>(keys.raw_data());
  auto* keys_out = static_cast<Key*>(sorted_keys.raw_data());
  auto* positions_in = static_cast<int*>(positions.raw_data());
  auto* positions_out = static_cast<int*>(sorted_positions.raw_data());
  auto* segment_offsets = static_cast<int*>(offsets.raw_data());

  topk_keys_kernel<T><<<gpu::grid_size(total, kBlock), kBlock, 0, gpu::stream()>>>(plan, x, largest, keys_in,
                                                                                     positions_in);
  TRIFECTA_CUDA_LAUNCH_CHECK("topk");
  topk_segment_offsets_kernel<<<gpu::grid_size(plan.row_count + 1, kBlock), kBlock, 0, gpu::stream()>>>(
      plan.row_count, plan.length, segment_offsets);
  TRIFECTA_CUDA_LAUNCH_CHECK("topk");

  const int items = static_cast<int>(total), segments = static_cast<int>(plan.row_count);
  size_t sort_bytes = 0;
  TRIFECTA_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(nullptr, sort_bytes, keys_in, keys_out, positions_in,
                                                               positions_out, items, segments, segment_offsets,
                                                               segment_offsets + 1, 0, 8 * sizeof(Key), gpu::stream()),
                      "topk");
  const Tensor sort_workspace = workspace(static_cast<int64_t>(sort_bytes));
  TRIFECTA_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(sort_workspace.raw_data(), sort_bytes, keys_in, keys_out,
                                                               positions_in, positions_out, items, segments,
                                                               segment_offsets, segment_offsets + 1, 0, 8 * sizeof(Key),
                                                               gpu::stream()),
                      "topk");

  topk_take_kernel<T><<<gpu::grid_size(plan.row_count * plan.k, kBlock), kBlock, 0, gpu::stream()>>>(
      plan, x, positions_out, values, indices);
  TRIFECTA_CUDA_LAUNCH_CHECK("topk");
}

void topk_cuda(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  if (values.numel() == 0) return;
  const TopkPlan plan = make_topk_plan(x, dim, k);
  dispatch_dtype<DTypeSet::Numeric>(x.dtype(), "topk", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* in = static_cast<const T*>(x.raw_data());
    T* out = static_cast<T*>(values.raw_data());
    int64_t* out_indices = static_cast<int64_t*>(indices.raw_data());
    if (plan.length <= kBitonicMaxLength) topk_bitonic<T>(plan, in, largest, out, out_indices);
    else topk_radix<T>(plan, in, largest, out, out_indices, x.device());
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(topk, CUDA, &topk_cuda);

}  // namespace trifecta
