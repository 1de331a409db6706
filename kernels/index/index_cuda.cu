// CUDA indexing kernels, walking the same plans as the CPU (kernels/index/index_ops.h).
//
//   gather, index_select   a thread per output element
//   scatter_add            a thread per line along dim, adding the line's elements in order: no atomics, so
//                          the sums are deterministic and equal to the CPU's (lines write disjoint outputs).
//                          The parallelism is the number of lines, which suits its uses as the backward of
//                          gather and topk (many rows, short index lines); one very long line would run
//                          on a single thread.
//   index_add              deterministic segmented sum: CUB's radix sort (stable) orders the (index,
//                          position) pairs, a binary search finds each destination row's segment, and a
//                          thread per output element adds its segment's source elements in ascending
//                          position order, the CPU's order. This is embedding's backward, where thousands
//                          of tokens may hit one row: atomics would make every training run differ.
//
// Out-of-range indices: the kernels skip them and record the value in a device-side flag that the host
// reads after the kernel, throwing an Error that names the op (a device assert would kill the context).
#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <vector>

#include "kernels/index/index_ops.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

constexpr int kBlock = 256;

// The first out-of-range index a kernel met: found is set once (compare-and-swap), so value is written by
// exactly one thread.
struct DeviceIndexError {
  unsigned long long found;
  long long value;
};

__device__ void report_bad_index(DeviceIndexError* error, int64_t value) {
  if (atomicCAS(&error->found, 0ull, 1ull) == 0ull) error->value = value;
}

// Owns the flag for one kernel launch: cleared on creation, checked (a host synchronization) by throw_if_set.
class IndexErrorFlag {
 public:
  explicit IndexErrorFlag(Device device) : buffer_(empty({2}, {DType::Int64, device})) {
    TRIFECTA_CUDA_CHECK(cudaMemsetAsync(buffer_.raw_data(), 0, sizeof(DeviceIndexError), gpu::stream()), "index");
  }
  DeviceIndexError* get() const { return static_cast<DeviceIndexError*>(buffer_.raw_data()); }
  void throw_if_set(const char* op, int dim, int64_t bound) const {
    const std::vector<int64_t> host = buffer_.to_vector<int64_t>();
    if (host[0] != 0)
      TRIFECTA_FAIL(op, "index ", host[1], " is out of range for dimension ", dim, " of size ", bound);
  }

 private:
  Tensor buffer_;
};

template <class T>
__global__ void gather_kernel(IndexPlan plan, const T* x, const int64_t* index, T* out, DeviceIndexError* error) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < plan.numel; e += stride) {
    const IndexPlan::Offsets o = plan.offsets_of(e);
    const int64_t target = index[o.index];
    if (target < 0 || target >= plan.dim_size) {
      report_bad_index(error, target);
      continue;
    }
    out[o.dense] = x[o.indexed + target * plan.indexed_dim_stride];
  }
}

void gather_cuda(const char* op, const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  if (out.numel() == 0) return;
  const IndexPlan plan = make_index_plan(x, dim, index, out);
  const IndexErrorFlag error(x.device());
  dispatch_dtype<DTypeSet::All>(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gather_kernel<T><<<gpu::grid_size(plan.numel, kBlock), kBlock, 0, gpu::stream()>>>(
        plan, static_cast<const T*>(x.raw_data()), static_cast<const int64_t*>(index.raw_data()),
        static_cast<T*>(out.raw_data()), error.get());
  });
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
  error.throw_if_set(op, dim, plan.dim_size);
}

template <class T>
__global__ void scatter_add_lines_kernel(IndexPlan plan, int64_t lines, T* out, const int64_t* index, const T* src,
                                         DeviceIndexError* error) {
  const int64_t length = plan.sizes[plan.dim];
  const int64_t index_step = plan.index_strides[plan.dim], src_step = plan.dense_strides[plan.dim];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t line = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; line < lines; line += stride) {
    const IndexPlan::Offsets o = plan.offsets_of(line, /*skip_dim=*/true);
    for (int64_t j = 0; j < length; ++j) {
      const int64_t target = index[o.index + j * index_step];
      if (target < 0 || target >= plan.dim_size) {
        report_bad_index(error, target);
        continue;
      }
      T& slot = out[o.indexed + target * plan.indexed_dim_stride];
      slot = convert<T>(convert<compute_t<T>>(slot) + convert<compute_t<T>>(src[o.dense + j * src_step]));
    }
  }
}

void scatter_add_cuda(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  if (index.numel() == 0) return;
  const IndexPlan plan = make_index_plan(out, dim, index, src);
  const int64_t lines = plan.numel / plan.sizes[dim];
  const IndexErrorFlag error(out.device());
  dispatch_dtype<DTypeSet::Numeric>(out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    scatter_add_lines_kernel<T><<<gpu::grid_size(lines, kBlock), kBlock, 0, gpu::stream()>>>(
        plan, lines, static_cast<T*>(out.raw_data()), static_cast<const int64_t*>(index.raw_data()),
        static_cast<const T*>(src.raw_data()), error.get());
  });
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
  error.throw_if_set(op, dim, plan.dim_size);
}

// Sort input: keys are the index values, values their positions; out-of-range values are flagged (the
// host throws before the sort runs).
__global__ void index_add_prepare_kernel(const int64_t* index, int64_t index_stride, int64_t n, int64_t rows,
                                         unsigned long long* keys, int64_t* positions, DeviceIndexError* error) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t target = index[i * index_stride];
    if (target < 0 || target >= rows) report_bad_index(error, target);
    keys[i] = static_cast<unsigned long long>(target);
    positions[i] = i;
  }
}

// row_start[r] = the first sorted position whose key is >= r (lower bound), for r in [0, rows].
__global__ void index_add_row_starts_kernel(const unsigned long long* sorted_keys, int64_t n, int64_t rows,
                                            int64_t* row_start) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r <= rows; r += stride) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (sorted_keys[mid] < static_cast<unsigned long long>(r)) lo = mid + 1;
      else hi = mid;
    }
    row_start[r] = lo;
  }
}

// A thread per output element (o, r, c): neighbouring threads take neighbouring c, so the source rows are
// read coalesced. The sum starts from out and adds in ascending position order, as the CPU does.
template <class T>
__global__ void index_add_segments_kernel(IndexAddShape s, const int64_t* row_start, const int64_t* sorted_positions,
                                          const T* source, T* out) {
  const int64_t total = s.outer * s.rows * s.inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t c = e % s.inner, r = e / s.inner % s.rows, o = e / (s.inner * s.rows);
    const int64_t begin = row_start[r], end = row_start[r + 1];
    if (begin == end) continue;
    compute_t<T> sum = convert<compute_t<T>>(out[e]);
    for (int64_t j = begin; j < end; ++j)
      sum += convert<compute_t<T>>(source[(o * s.n + sorted_positions[j]) * s.inner + c]);
    out[e] = convert<T>(sum);
  }
}

// Bits needed for keys in [0, rows): the radix sort skips the passes over bits that are always zero.
int key_bits(int64_t rows) {
  int bits = 1;
  while (bits < 64 && (uint64_t{1} << bits) < static_cast<uint64_t>(rows)) ++bits;
  return bits;
}

void index_add_cuda(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& source) {
  const IndexAddShape s = index_add_shape(out, dim, index);
  if (s.n == 0 || out.numel() == 0) return;
  const Device device = out.device();
  const Tensor keys = empty({s.n}, {DType::Int64, device}), sorted_keys = empty({s.n}, {DType::Int64, device});
  const Tensor positions = empty({s.n}, {DType::Int64, device}), sorted_positions = empty({s.n}, {DType::Int64, device});
  auto* keys_in = static_cast<unsigned long long*>(keys.raw_data());
  auto* keys_out = static_cast<unsigned long long*>(sorted_keys.raw_data());
  auto* positions_in = static_cast<int64_t*>(positions.raw_data());
  auto* positions_out = static_cast<int64_t*>(sorted_positions.raw_data());

  const IndexErrorFlag error(device);
  index_add_prepare_kernel<<<gpu::grid_size(s.n, kBlock), kBlock, 0, gpu::stream()>>>(
      static_cast<const int64_t*>(index.raw_data()), index.stride(0), s.n, s.rows, keys_in, positions_in, error.get());
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
  error.throw_if_set(op, dim, s.rows);

  const int end_bit = key_bits(s.rows);
  size_t workspace_bytes = 0;
  TRIFECTA_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, workspace_bytes, keys_in, keys_out, positions_in,
                                                      positions_out, s.n, 0, end_bit, gpu::stream()),
                      op);
  const Tensor workspace = empty({static_cast<int64_t>(workspace_bytes / 8 + 1)}, {DType::Int64, device});
  TRIFECTA_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(workspace.raw_data(), workspace_bytes, keys_in, keys_out,
                                                      positions_in, positions_out, s.n, 0, end_bit, gpu::stream()),
                      op);

  const Tensor row_start = empty({s.rows + 1}, {DType::Int64, device});
  index_add_row_starts_kernel<<<gpu::grid_size(s.rows + 1, kBlock), kBlock, 0, gpu::stream()>>>(
      keys_out, s.n, s.rows, static_cast<int64_t*>(row_start.raw_data()));
  TRIFECTA_CUDA_LAUNCH_CHECK(op);

  dispatch_dtype<DTypeSet::Numeric>(out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    index_add_segments_kernel<T><<<gpu::grid_size(out.numel(), kBlock), kBlock, 0, gpu::stream()>>>(
        s, static_cast<const int64_t*>(row_start.raw_data()), positions_out, static_cast<const T*>(source.raw_data()),
        static_cast<T*>(out.raw_data()));
  });
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(index_select, CUDA, &gather_cuda);
TRIFECTA_REGISTER_KERNEL(gather, CUDA, &gather_cuda);
TRIFECTA_REGISTER_KERNEL(scatter_add, CUDA, &scatter_add_cuda);
TRIFECTA_REGISTER_KERNEL(index_add, CUDA, &index_add_cuda);

}  // namespace trifecta
