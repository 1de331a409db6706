// The row engine on the GPU (see row_engine.h for what a policy is). Rows are memory-bound: a softmax reads
// each element once and writes it once, so the goal is to move bytes at the device's copy bandwidth. Loads
// and stores are 16-byte vectors whenever the row length and the pointers allow (scalar, still coalesced,
// otherwise). Three kernels, chosen by the row's shape:
//
//   warp per row    short contiguous rows (up to 32 elements per lane, fewer for policies that read two
//                   tensors or compute in double): a warp loads its row into registers (a warp's loads of
//                   one step are one contiguous span), folds, merges the lanes' states with shuffles and
//                   writes the output from the registers: one read and one write per element.
//   block per row   long contiguous rows: the block strides through the row and merges its threads' states
//                   through shared memory. When the row fits in half the shared memory a block may have,
//                   it is cached there on the way in and the output pass reads the cache (one read and one
//                   write again); longer rows are read twice, the second time largely from L2.
//   strided rows    rows along a dim that is not the last (inner > 1): threadIdx.x walks neighbouring rows
//                   (so loads are coalesced across them) and threadIdx.y splits each row's elements; the
//                   partial states meet in shared memory.
// Every merge is a fixed tree, so results are the same run to run (no atomics).
#pragma once

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>

#include "kernels/softmax/row_engine.h"
#include "tensor/cuda_utils.h"

namespace trifecta {

namespace row_engine_cuda {

constexpr int kWarp = 32;
constexpr int kWarpRowsBlock = 128;     // four rows per block in the warp-per-row kernel
constexpr int kStridedRowsBlock = 256;  // threads per block in the strided kernel
constexpr int kMaxBlockRowsThreads = 1024;
constexpr int kVectorBytes = 16;

template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

// Elements per 16-byte vector (8 for 16-bit types, 4 for float32, 2 for float64).
template <class T>
constexpr int vector_elements() {
  return kVectorBytes / static_cast<int>(sizeof(T));
}

// How many elements a lane of the warp kernel may keep in registers: about 32 registers' worth of cached
// values across the policy's inputs, as a power of two.
template <class P>
constexpr int max_per_lane() {
  constexpr int budget = 32 * 4 / (P::kInputs * static_cast<int>(sizeof(typename P::A)));
  int p = 1;
  while (p * 2 <= budget) p *= 2;
  return p;
}

template <class S>
__device__ S shfl_down_state(S s, int delta) {
  static_assert(std::is_trivially_copyable_v<S> && sizeof(S) % sizeof(int) == 0, "shuffled states are words");
  constexpr int kWords = sizeof(S) / sizeof(int);
  int words[kWords];
  memcpy(words, &s, sizeof(S));
#pragma unroll
  for (int w = 0; w < kWords; ++w) words[w] = __shfl_down_sync(0xffffffffu, words[w], delta);
  memcpy(&s, words, sizeof(S));
  return s;
}

template <class S>
__device__ S shfl_state(S s, int lane) {
  constexpr int kWords = sizeof(S) / sizeof(int);
  int words[kWords];
  memcpy(words, &s, sizeof(S));
#pragma unroll
  for (int w = 0; w < kWords; ++w) words[w] = __shfl_sync(0xffffffffu, words[w], lane);
  memcpy(&s, words, sizeof(S));
  return s;
}

// Merges the states of lanes [0, count) into lane 0 in a fixed tree (the whole warp must call it).
template <class P, class S>
__device__ S warp_reduce(S s, int count) {
  const int lane = threadIdx.x % kWarp;
#pragma unroll
  for (int delta = kWarp / 2; delta > 0; delta >>= 1) {
    const S other = shfl_down_state(s, delta);
    if (lane + delta < count) s = P::combine(s, other);
  }
  return s;
}

// Merges every thread's state; all threads get the result. blockDim.x is a multiple of 32, threadIdx.y 0.
template <class P, class S>
__device__ S block_allreduce(S s) {
  __shared__ S partials[kWarp];
  __shared__ S total;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  s = warp_reduce<P>(s, kWarp);
  if (lane == 0) partials[warp] = s;
  __syncthreads();
  if (warp == 0) {
    s = warp_reduce<P>(lane < warps ? partials[lane] : s, warps);
    if (lane == 0) total = s;
  }
  __syncthreads();
  // The next call writes partials before its first barrier and total only after it, by which time every
  // thread has read this total: no third barrier is needed.
  return total;
}

template <class T, int V>
__device__ Vec<T, V> load_vec(const T* p) {
  return *reinterpret_cast<const Vec<T, V>*>(p);
}
template <class T, int V>
__device__ void store_vec(T* p, const Vec<T, V>& v) {
  *reinterpret_cast<Vec<T, V>*>(p) = v;
}

template <class P, int kVec, int kIters>
__global__ void __launch_bounds__(kWarpRowsBlock)
    warp_rows_kernel(P p, RowTensors<typename P::T, P::kInputs> t, int64_t rows, int64_t n) {
  using T = typename P::T;
  using A = typename P::A;
  constexpr int K = P::kInputs;
  constexpr int kRowsPerBlock = kWarpRowsBlock / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kRowsPerBlock;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp; row < rows;
       row += stride) {
    const typename P::Row constants = p.load_row(row);
    const int64_t base = row * n;
    // Lane l holds vectors l, l + 32, l + 64, ...: elements col(it) .. col(it) + kVec - 1.
    A v[kIters][kVec][K];
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      const int64_t col = (static_cast<int64_t>(it) * kWarp + lane) * kVec;
      if (col < n) {
#pragma unroll
        for (int k = 0; k < K; ++k) {
          const Vec<T, kVec> raw = load_vec<T, kVec>(t.in[k] + base + col);
#pragma unroll
          for (int j = 0; j < kVec; ++j) v[it][j][k] = convert<A>(raw.v[j]);
        }
      }
    }
    typename P::Stats stats;
    if constexpr (P::kReduces) {
      typename P::State s = p.init();
#pragma unroll
      for (int it = 0; it < kIters; ++it) {
        const int64_t col = (static_cast<int64_t>(it) * kWarp + lane) * kVec;
        if (col < n) {
#pragma unroll
          for (int j = 0; j < kVec; ++j) s = p.fold(s, v[it][j], col + j, constants);
        }
      }
      s = shfl_state(warp_reduce<P>(s, kWarp), 0);
      stats = p.finalize(s, constants);
    } else {
      stats = p.finalize(typename P::State{}, constants);
    }
    if constexpr (P::kMaps) {
#pragma unroll
      for (int it = 0; it < kIters; ++it) {
        const int64_t col = (static_cast<int64_t>(it) * kWarp + lane) * kVec;
        if (col < n) {
          Vec<T, kVec> out;
#pragma unroll
          for (int j = 0; j < kVec; ++j) out.v[j] = convert<T>(p.map(v[it][j], col + j, stats));
          store_vec<T, kVec>(t.out + base + col, out);
        }
      }
    }
    if (lane == 0) p.store_row(row, stats);
  }
}

// kCache: keep the row (all kInputs tensors) in dynamic shared memory between the fold and the map. Each
// thread reads back only the vectors it wrote itself, so the cache needs no barrier of its own.
template <class P, int kVec, bool kCache>
__global__ void __launch_bounds__(kMaxBlockRowsThreads)
    block_rows_kernel(P p, RowTensors<typename P::T, P::kInputs> t, int64_t rows, int64_t n) {
  using T = typename P::T;
  using A = typename P::A;
  constexpr int K = P::kInputs;
  extern __shared__ __align__(16) unsigned char row_cache_bytes[];
  T* const cache = reinterpret_cast<T*>(row_cache_bytes);  // [K][n] when kCache
  const int64_t vectors = n / kVec;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const typename P::Row constants = p.load_row(row);
    const int64_t base = row * n;
    A v[K];
    typename P::Stats stats;
    if constexpr (P::kReduces) {
      typename P::State s = p.init();
      for (int64_t q = threadIdx.x; q < vectors; q += blockDim.x) {
        Vec<T, kVec> raw[K];
#pragma unroll
        for (int k = 0; k < K; ++k) {
          raw[k] = load_vec<T, kVec>(t.in[k] + base + q * kVec);
          if constexpr (kCache) store_vec<T, kVec>(cache + k * n + q * kVec, raw[k]);
        }
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
#pragma unroll
          for (int k = 0; k < K; ++k) v[k] = convert<A>(raw[k].v[j]);
          s = p.fold(s, v, q * kVec + j, constants);
        }
      }
      stats = p.finalize(block_allreduce<P>(s), constants);
    } else {
      stats = p.finalize(typename P::State{}, constants);
    }
    if constexpr (P::kMaps) {
      for (int64_t q = threadIdx.x; q < vectors; q += blockDim.x) {
        Vec<T, kVec> raw[K];
#pragma unroll
        for (int k = 0; k < K; ++k)
          raw[k] = load_vec<T, kVec>(kCache ? cache + k * n + q * kVec : t.in[k] + base + q * kVec);
        Vec<T, kVec> out;
#pragma unroll
        for (int j = 0; j < kVec; ++j) {
#pragma unroll
          for (int k = 0; k < K; ++k) v[k] = convert<A>(raw[k].v[j]);
          out.v[j] = convert<T>(p.map(v, q * kVec + j, stats));
        }
        store_vec<T, kVec>(t.out + base + q * kVec, out);
      }
    }
    if (threadIdx.x == 0) p.store_row(row, stats);
  }
}

// Rows at stride inner. A block takes blockDim.x neighbouring rows of one outer index (a "tile");
// threadIdx.y splits their elements, and the blockDim.y partial states of each row merge in order.
template <class P>
__global__ void __launch_bounds__(kStridedRowsBlock)
    strided_rows_kernel(P p, RowTensors<typename P::T, P::kInputs> t, RowLayout layout) {
  using A = typename P::A;
  constexpr int K = P::kInputs;
  __shared__ typename P::State partials[kStridedRowsBlock];
  __shared__ typename P::Stats tile_stats[kWarp];
  const int tx = threadIdx.x, ty = threadIdx.y, width = blockDim.x, splits = blockDim.y;
  const int64_t tiles = (layout.inner + width - 1) / width;
  for (int64_t task = blockIdx.x; task < layout.outer * tiles; task += gridDim.x) {
    const int64_t o = task / tiles, i = task % tiles * width + tx;
    const bool valid = i < layout.inner;
    const int64_t row = o * layout.inner + i, base = o * layout.n * layout.inner + i;
    typename P::Row constants{};
    if (valid) constants = p.load_row(row);
    A v[K];
    typename P::Stats stats;
    if constexpr (P::kReduces) {
      typename P::State s = p.init();
      if (valid) {
        for (int64_t col = ty; col < layout.n; col += splits) {
#pragma unroll
          for (int k = 0; k < K; ++k) v[k] = convert<A>(t.in[k][base + col * layout.inner]);
          s = p.fold(s, v, col, constants);
        }
      }
      partials[ty * width + tx] = s;
      __syncthreads();
      if (ty == 0) {
        for (int y = 1; y < splits; ++y) s = P::combine(s, partials[y * width + tx]);
        tile_stats[tx] = p.finalize(s, constants);
      }
      __syncthreads();
      stats = tile_stats[tx];
    } else {
      stats = p.finalize(typename P::State{}, constants);
    }
    if (valid) {
      if constexpr (P::kMaps) {
        for (int64_t col = ty; col < layout.n; col += splits) {
          const int64_t offset = base + col * layout.inner;
#pragma unroll
          for (int k = 0; k < K; ++k) v[k] = convert<A>(t.in[k][offset]);
          t.out[offset] = convert<typename P::T>(p.map(v, col, stats));
        }
      }
      if (ty == 0) p.store_row(row, stats);
    }
    __syncthreads();  // partials and tile_stats are reused by the next task
  }
}

inline int next_pow2(int64_t x) {
  int p = 1;
  while (p < x) p *= 2;
  return p;
}

inline unsigned grid_for(int64_t tasks) { return static_cast<unsigned>(std::clamp<int64_t>(tasks, 1, INT_MAX)); }

inline int sm_count(const char* op) {
  static const int count = [op] {
    int device = 0, sms = 0;
    TRIFECTA_CUDA_CHECK(cudaGetDevice(&device), op);
    TRIFECTA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), op);
    return sms;
  }();
  return count;
}

// The most shared memory one block may have once its kernel opts in (227 KB on Hopper); without the opt-in,
// 48 KB. Both limits count the kernel's static shared memory (block_allreduce's partials) with the dynamic.
inline int64_t shared_memory_optin(const char* op) {
  static const int64_t bytes = [op] {
    int device = 0, value = 0;
    TRIFECTA_CUDA_CHECK(cudaGetDevice(&device), op);
    TRIFECTA_CUDA_CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), op);
    return static_cast<int64_t>(value);
  }();
  return bytes;
}

// Lets kernel take as much dynamic shared memory as the opt-in maximum leaves beside its static shared
// memory; returns the static bytes.
template <class Kernel>
int64_t opt_in_shared_memory(Kernel kernel, const char* op) {
  cudaFuncAttributes attributes{};
  TRIFECTA_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel), op);
  const int64_t static_bytes = static_cast<int64_t>(attributes.sharedSizeBytes);
  TRIFECTA_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(shared_memory_optin(op) - static_bytes)),
                      op);
  return static_bytes;
}

// Picks the smallest power-of-two elements per lane that covers n, then the kernel for it.
template <class P, int kPerLane>
void launch_warp_rows(const char* op, const P& p, const RowTensors<typename P::T, P::kInputs>& t, int64_t rows,
                      int64_t n, bool vectorized) {
  if constexpr (kPerLane * 2 <= max_per_lane<P>()) {
    if (n > static_cast<int64_t>(kPerLane) * kWarp) {
      launch_warp_rows<P, kPerLane * 2>(op, p, t, rows, n, vectorized);
      return;
    }
  }
  constexpr int kVec = std::min(vector_elements<typename P::T>(), kPerLane);
  const unsigned grid = grid_for((rows + kWarpRowsBlock / kWarp - 1) / (kWarpRowsBlock / kWarp));
  if (vectorized)
    warp_rows_kernel<P, kVec, kPerLane / kVec><<<grid, kWarpRowsBlock, 0, gpu::stream()>>>(p, t, rows, n);
  else
    warp_rows_kernel<P, 1, kPerLane><<<grid, kWarpRowsBlock, 0, gpu::stream()>>>(p, t, rows, n);
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

template <class P, int kVec>
void launch_block_rows(const char* op, const P& p, const RowTensors<typename P::T, P::kInputs>& t, int64_t rows,
                       int64_t n) {
  const int64_t vectors = n / kVec;
  // Each thread takes about eight vectors: enough work per thread, and up to 1024 threads for long rows.
  const int threads = std::clamp(next_pow2((vectors + 7) / 8), 128, kMaxBlockRowsThreads);
  const int64_t cache_bytes = P::kInputs * n * static_cast<int64_t>(sizeof(typename P::T));
  const unsigned grid = grid_for(rows);
  // The row is cached when it fits, with the kernel's static shared memory, in half of what a block may have
  // (so two blocks share an SM). The opt-in is made once, whatever the size: a dynamic size just under 48 KB
  // fails to launch without it once the static bytes are added.
  const auto cached_kernel = block_rows_kernel<P, kVec, true>;
  static const int64_t static_bytes = opt_in_shared_memory(cached_kernel, op);
  if (P::kReduces && P::kMaps && static_bytes + cache_bytes <= shared_memory_optin(op) / 2) {
    cached_kernel<<<grid, threads, static_cast<size_t>(cache_bytes), gpu::stream()>>>(p, t, rows, n);
  } else {
    block_rows_kernel<P, kVec, false><<<grid, threads, 0, gpu::stream()>>>(p, t, rows, n);
  }
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

inline bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kVectorBytes == 0; }

}  // namespace row_engine_cuda

template <class P>
void run_rows_cuda(const char* op, const P& p, const RowTensors<typename P::T, P::kInputs>& t,
                   const RowLayout& layout) {
  namespace rc = row_engine_cuda;
  using T = typename P::T;
  if (layout.rows() == 0 || layout.n == 0) return;
  if (layout.inner > 1) {
    const int width = std::min(rc::kWarp, rc::next_pow2(layout.inner));
    const dim3 block(width, rc::kStridedRowsBlock / width);
    const int64_t tiles = (layout.inner + width - 1) / width;
    rc::strided_rows_kernel<P><<<rc::grid_for(layout.outer * tiles), block, 0, gpu::stream()>>>(p, t, layout);
    TRIFECTA_CUDA_LAUNCH_CHECK(op);
    return;
  }
  constexpr int V = rc::vector_elements<T>();
  bool vectorized = layout.n % V == 0 && (!P::kMaps || rc::aligned(t.out));
  for (int k = 0; k < P::kInputs; ++k) vectorized = vectorized && rc::aligned(t.in[k]);
  if (layout.n <= static_cast<int64_t>(rc::max_per_lane<P>()) * rc::kWarp) {
    rc::launch_warp_rows<P, 1>(op, p, t, layout.rows(), layout.n, vectorized);
  } else if (vectorized) {
    rc::launch_block_rows<P, V>(op, p, t, layout.rows(), layout.n);
  } else {
    rc::launch_block_rows<P, 1>(op, p, t, layout.rows(), layout.n);
  }
}

}  // namespace trifecta
