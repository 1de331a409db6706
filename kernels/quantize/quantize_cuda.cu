// CUDA nearest_code: one kernel that computes the distances tile by tile and keeps only each row's best.
//
// A block of 32 x 8 threads owns 32 feature rows. It walks the codebook in tiles of 32 entries; for each
// tile it stages 32-channel slices of its rows and of the tile's entries in shared memory, and thread
// (lane, warp) accumulates the direct sums d_k = sum_c (h_c - e_kc)^2 of entry (tile + lane) against rows
// warp, warp + 8, warp + 16 and warp + 24, so each staged entry value is read once for four rows. After the
// tile, each thread folds its four distances into its running best (the entries it sees come in ascending
// order), and once the codebook is done a warp butterfly of nearer_code (kernels/quantize/quantize_ops.h)
// merges the 32 lanes' bests of each row. Direct sums have no cancellation, and nearer_code is the CPU's
// order, so both devices agree up to the rounding of near-ties.

#include "kernels/kernel_signatures.h"
#include "kernels/quantize/quantize_ops.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

constexpr int kTile = 32;                       // rows per block, entries per tile, channels per slice
constexpr int kWarps = 8;                       // blockDim.y
constexpr int kRowsPerThread = kTile / kWarps;  // 4

template <class A>
__device__ CodeCandidate<A> shuffle_xor(CodeCandidate<A> c, int mask) {
  return {__shfl_xor_sync(0xffffffffu, c.distance, mask),
          static_cast<int64_t>(__shfl_xor_sync(0xffffffffu, static_cast<long long>(c.index), mask))};
}

template <class T>
__global__ void nearest_code_kernel(const T* __restrict__ features, const T* __restrict__ codebook, int64_t rows,
                                    int64_t entries, int64_t channels, int64_t* __restrict__ indices) {
  using A = compute_t<T>;
  __shared__ A row_slice[kTile][kTile + 1];    // +1: lanes reading one column hit different banks
  __shared__ A entry_slice[kTile][kTile + 1];
  const int lane = threadIdx.x, warp = threadIdx.y;
  const int64_t first_row = static_cast<int64_t>(blockIdx.x) * kTile;

  CodeCandidate<A> best[kRowsPerThread];
  for (int i = 0; i < kRowsPerThread; ++i) best[i] = {A(0), -1};

  for (int64_t first_entry = 0; first_entry < entries; first_entry += kTile) {
    A distance[kRowsPerThread] = {};
    for (int64_t first_channel = 0; first_channel < channels; first_channel += kTile) {
      const int64_t c = first_channel + lane;
      for (int i = warp; i < kTile; i += kWarps) {
        const int64_t r = first_row + i, k = first_entry + i;
        row_slice[i][lane] = r < rows && c < channels ? convert<A>(features[r * channels + c]) : A(0);
        entry_slice[i][lane] = k < entries && c < channels ? convert<A>(codebook[k * channels + c]) : A(0);
      }
      __syncthreads();
      const int width = channels - first_channel < kTile ? static_cast<int>(channels - first_channel) : kTile;
      for (int j = 0; j < width; ++j) {
        const A e = entry_slice[lane][j];
        for (int i = 0; i < kRowsPerThread; ++i) {
          const A diff = row_slice[warp + i * kWarps][j] - e;
          distance[i] += diff * diff;
        }
      }
      __syncthreads();  // the next slice overwrites the shared arrays
    }
    const int64_t k = first_entry + lane;
    if (k < entries)
      for (int i = 0; i < kRowsPerThread; ++i) best[i] = nearer_code(best[i], CodeCandidate<A>{distance[i], k});
  }

  for (int i = 0; i < kRowsPerThread; ++i) {
    CodeCandidate<A> b = best[i];
    for (int mask = 16; mask > 0; mask >>= 1) b = nearer_code(b, shuffle_xor(b, mask));
    const int64_t r = first_row + warp + i * kWarps;
    if (lane == 0 && r < rows) indices[r] = b.index;
  }
}

void nearest_code_cuda(const Tensor& features, const Tensor& codebook, const Tensor& indices) {
  const int64_t rows = features.size(0);
  const int64_t blocks = (rows + kTile - 1) / kTile;
  TRIFECTA_CHECK(blocks <= 0x7fffffff, "nearest_code", "too many feature rows for one grid: ", rows);
  dispatch_dtype<DTypeSet::Floating>(features.dtype(), "nearest_code", [&](auto tag) {
    using T = typename decltype(tag)::type;
    nearest_code_kernel<T><<<static_cast<unsigned>(blocks), dim3(kTile, kWarps), 0, gpu::stream()>>>(
        static_cast<const T*>(features.raw_data()), static_cast<const T*>(codebook.raw_data()), rows,
        codebook.size(0), features.size(1), static_cast<int64_t*>(indices.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK("nearest_code");
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(nearest_code, CUDA, &nearest_code_cuda);

}  // namespace trifecta
