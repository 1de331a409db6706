// Teaching SGEMM kernels, versions 1 to 5 (the list and the idea each adds are in sgemm_teaching.h).
// C[M, N] = A[M, K] · B[K, N], all row-major float32. Each kernel reads as a self-contained lesson.
//
// The arithmetic that decides everything: a 4096^3 product is 2 * 4096^3 = 137 GFLOP over 3 * 64 MiB of
// data, so the FLOPs per byte *needed* are huge, but a kernel that fetches A and B afresh for every output
// moves 2K floats per output, 8 bytes per FMA: bandwidth-bound at a few percent of peak. Each version
// raises the FMAs done per byte moved, first from DRAM (versions 2-3), then from shared memory into
// registers (versions 3-5), until the FMA units, not memory, set the pace.
//
// References: Simon Boehm, "How to Optimize a CUDA Matmul Kernel for cuBLAS-like Performance" (2022);
// NVIDIA CUTLASS, "Efficient GEMM in CUDA" (the warp-tile hierarchy of version 5).
#include <cstdint>

#include "kernels/matmul/sgemm_teaching.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

__host__ __device__ constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

// ---- Version 1: naive --------------------------------------------------------------------------------
// Thread (row, col) walks row `row` of A and column `col` of B. threadIdx.x runs along columns, so a warp
// reads 32 consecutive floats of each B row (coalesced) and broadcasts one float of A; the catch is that
// every A and B element is fetched from global memory (or cache) M or N times over.
constexpr int kNaiveBlockX = 32, kNaiveBlockY = 8;

__global__ void sgemm_v1_naive(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                               float* __restrict__ C) {
  const int col = blockIdx.x * kNaiveBlockX + threadIdx.x;
  const int row = blockIdx.y * kNaiveBlockY + threadIdx.y;
  if (row >= M || col >= N) return;
  float acc = 0.0f;
  for (int p = 0; p < K; ++p) acc += A[row * K + p] * B[p * N + col];
  C[row * N + col] = acc;
}

// ---- Version 2: shared-memory tiling -------------------------------------------------------------------
// A 32x32 block of outputs needs a 32-row strip of A and a 32-column strip of B. The block walks K in steps
// of 32: all 1024 threads load one element of each tile into shared memory, wait, and then each thread runs
// 32 multiply-adds out of shared memory. Every global element is now loaded once per block instead of
// once per thread: 32x less global traffic. Out-of-range elements load as 0, which adds nothing.
constexpr int kTile = 32;

__global__ void sgemm_v2_shared(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                                float* __restrict__ C) {
  __shared__ float As[kTile][kTile];
  __shared__ float Bs[kTile][kTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int row = blockIdx.y * kTile + ty, col = blockIdx.x * kTile + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += kTile) {
    As[ty][tx] = row < M && k0 + tx < K ? A[row * K + k0 + tx] : 0.0f;
    Bs[ty][tx] = k0 + ty < K && col < N ? B[(k0 + ty) * N + col] : 0.0f;
    __syncthreads();
    // As[ty][p] is one address for the whole warp (a broadcast); Bs[p][tx] are 32 consecutive banks.
#pragma unroll
    for (int p = 0; p < kTile; ++p) acc += As[ty][p] * Bs[p][tx];
    __syncthreads();  // nobody may overwrite the tiles while others still read them
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

// ---- Version 3: 1-D register blocking ------------------------------------------------------------------
// Version 2 does two shared loads per FMA, and shared memory bandwidth becomes the limit. Here each thread
// computes V3_TM = 8 outputs of one column, keeping them in registers: per k it loads one B value and 8 A
// values (the same for the whole warp, so broadcasts) and does 8 FMAs. Block tile 64x64, K step 8,
// 64 * 64 / 8 = 512 threads, each loading one element of each tile.
constexpr int kV3BM = 64, kV3BN = 64, kV3BK = 8, kV3TM = 8;
constexpr int kV3Threads = kV3BM * kV3BN / kV3TM;
static_assert(kV3Threads == kV3BM * kV3BK && kV3Threads == kV3BK * kV3BN, "one tile element per thread");

__global__ void __launch_bounds__(kV3Threads)
    sgemm_v3_1d_blocktile(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                          float* __restrict__ C) {
  __shared__ float As[kV3BM][kV3BK];
  __shared__ float Bs[kV3BK][kV3BN];
  const int tid = threadIdx.x;
  const int block_row = blockIdx.y * kV3BM, block_col = blockIdx.x * kV3BN;
  const int out_col = tid % kV3BN, out_row = (tid / kV3BN) * kV3TM;  // this thread's column and first row
  const int a_row = tid / kV3BK, a_col = tid % kV3BK;                  // the A element it loads
  const int b_row = tid / kV3BN, b_col = tid % kV3BN;                  // the B element it loads
  float acc[kV3TM] = {};
  for (int k0 = 0; k0 < K; k0 += kV3BK) {
    const int ar = block_row + a_row, ac = k0 + a_col, br = k0 + b_row, bc = block_col + b_col;
    As[a_row][a_col] = ar < M && ac < K ? A[ar * K + ac] : 0.0f;
    Bs[b_row][b_col] = br < K && bc < N ? B[br * N + bc] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kV3BK; ++p) {
      const float b = Bs[p][out_col];
#pragma unroll
      for (int i = 0; i < kV3TM; ++i) acc[i] += As[out_row + i][p] * b;
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kV3TM; ++i) {
    const int r = block_row + out_row + i, c = block_col + out_col;
    if (r < M && c < N) C[r * N + c] = acc[i];
  }
}

// ---- Shared by versions 4 and 5: 128x128 block tiles, K step 8, 256 threads, 64 outputs per thread -----
// Each thread loads one float4 of the A tile (128 rows x 8) and one of the B tile (8 x 128) per step.
// kVec: K and N are multiples of 4 and the pointers 16-byte aligned, so a float4 that starts in range lies
// wholly in range and can be one 128-bit load; otherwise four guarded scalar loads.
constexpr int kBM = 128, kBN = 128, kBK = 8, kThreads = 256;
// The transposed A tile is padded by 4 floats per k-row: the four stores a thread makes into column
// `a_row` then land 4 banks apart from its neighbour's (conflict-free), and rows stay 16-byte aligned.
constexpr int kAPad = 4;
static_assert(kBM * kBK == 4 * kThreads && kBK * kBN == 4 * kThreads, "one float4 of each tile per thread");

template <bool kVec>
__device__ __forceinline__ float4 load_float4(const float* __restrict__ src, int rows, int cols, int r, int c) {
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (r >= rows) return v;
  if constexpr (kVec) {
    if (c < cols) v = *reinterpret_cast<const float4*>(src + r * cols + c);
  } else {
    const float* row = src + r * cols;
    if (c < cols) v.x = row[c];
    if (c + 1 < cols) v.y = row[c + 1];
    if (c + 2 < cols) v.z = row[c + 2];
    if (c + 3 < cols) v.w = row[c + 3];
  }
  return v;
}

template <bool kVec>
__device__ __forceinline__ void store_float4(float* __restrict__ dst, int rows, int cols, int r, int c, float4 v) {
  if (r >= rows) return;
  if constexpr (kVec) {
    if (c < cols) *reinterpret_cast<float4*>(dst + r * cols + c) = v;
  } else {
    float* row = dst + r * cols;
    if (c < cols) row[c] = v.x;
    if (c + 1 < cols) row[c + 1] = v.y;
    if (c + 2 < cols) row[c + 2] = v.z;
    if (c + 3 < cols) row[c + 3] = v.w;
  }
}

// Where thread tid's float4s of the A and B tiles come from, relative to the tile's corner.
struct TileLoad {
  int a_row, a_col;  // A tile: 128 rows of 8 = 2 float4 per row
  int b_row, b_col;  // B tile: 8 rows of 128 = 32 float4 per row
  __device__ explicit TileLoad(int tid)
      : a_row(tid / 2), a_col((tid % 2) * 4), b_row(tid / (kBN / 4)), b_col((tid % (kBN / 4)) * 4) {}
};

// Stores a loaded A float4 (4 consecutive k of one row) transposed: As[k][m].
__device__ __forceinline__ void store_a_transposed(float (*As)[kBM + kAPad], const TileLoad& t, float4 v) {
  As[t.a_col + 0][t.a_row] = v.x;
  As[t.a_col + 1][t.a_row] = v.y;
  As[t.a_col + 2][t.a_row] = v.z;
  As[t.a_col + 3][t.a_row] = v.w;
}

__device__ __forceinline__ void store_b(float (*Bs)[kBN], const TileLoad& t, float4 v) {
  *reinterpret_cast<float4*>(&Bs[t.b_row][t.b_col]) = v;
}

// ---- Version 4: 2-D register blocking, vectorized loads, transposed A tile -----------------------------
// Thread (ty, tx) of a 16x16 grid owns the 8x8 outputs at rows ty*8.., cols tx*8... For each k it reads 8
// values of A (a column of the A tile: contiguous because the tile is stored transposed, so two float4
// shared loads) and 8 of B (two float4), then does their 8x8 outer product: 64 FMAs for 4 shared loads.
// The accumulators, 64 floats, live in registers; __launch_bounds__(256, 2) caps the thread at 128
// registers so two blocks fit per SM.
constexpr int kTM = 8, kTN = 8;
static_assert((kBM / kTM) * (kBN / kTN) == kThreads, "one 8x8 micro-tile per thread");

template <bool kVec>
__global__ void __launch_bounds__(kThreads, 2)
    sgemm_v4_2d_blocktile(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                          float* __restrict__ C) {
  __shared__ __align__(16) float As[kBK][kBM + kAPad];
  __shared__ __align__(16) float Bs[kBK][kBN];
  const int tid = threadIdx.x;
  const int block_row = blockIdx.y * kBM, block_col = blockIdx.x * kBN;
  const int ty = tid / (kBN / kTN), tx = tid % (kBN / kTN);
  const TileLoad load(tid);
  float acc[kTM][kTN] = {};
  for (int k0 = 0; k0 < K; k0 += kBK) {
    store_a_transposed(As, load, load_float4<kVec>(A, M, K, block_row + load.a_row, k0 + load.a_col));
    store_b(Bs, load, load_float4<kVec>(B, K, N, k0 + load.b_row, block_col + load.b_col));
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kBK; ++p) {
      float a[kTM], b[kTN];
      *reinterpret_cast<float4*>(&a[0]) = *reinterpret_cast<const float4*>(&As[p][ty * kTM]);
      *reinterpret_cast<float4*>(&a[4]) = *reinterpret_cast<const float4*>(&As[p][ty * kTM + 4]);
      *reinterpret_cast<float4*>(&b[0]) = *reinterpret_cast<const float4*>(&Bs[p][tx * kTN]);
      *reinterpret_cast<float4*>(&b[4]) = *reinterpret_cast<const float4*>(&Bs[p][tx * kTN + 4]);
#pragma unroll
      for (int i = 0; i < kTM; ++i)
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] += a[i] * b[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < kTM; ++i) {
    const int r = block_row + ty * kTM + i;
#pragma unroll
    for (int j = 0; j < kTN; j += 4)
      store_float4<kVec>(C, M, N, r, block_col + tx * kTN + j,
                         make_float4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]));
  }
}

// ---- Version 5: warp tiling and double buffering -------------------------------------------------------
// Two weaknesses of version 4. (1) Bank conflicts: a float4 shared load is served 8 lanes at a time, and
// in version 4 eight neighbouring threads read B at a stride of 8 floats, hitting each bank twice.
// (2) Latency: every tile waits for its global loads, then for a barrier, before any math starts.
//
// (1) Warp tiles. The 8 warps split the 128x128 block tile 4 x 2 into 32x64 warp tiles; within a warp,
// lane (lm, ln) of a 4x8 grid owns rows {lm*4.., 16 + lm*4..} and columns {ln*4.., 32 + ln*4..}: still 64
// outputs as a 2x2 grid of 4x4 sub-tiles, but now 8 lanes with consecutive ln read 8 consecutive float4s
// of B (all 32 banks once) and the same float4 of A (a broadcast). The warp tile is also the unit the
// hardware schedules, so a warp's loads of A and B are reused across its whole 32x64 tile.
// (2) Double buffering. Two copies of each shared tile: while the block computes on one, each thread has
// already issued the global loads of the next tile into registers and writes them to the other copy after
// its math. The loads' latency hides behind 512 FMAs, and one barrier per tile suffices (the buffer being
// written was last read before the previous barrier).
constexpr int kWarpM = 32, kWarpN = 64;
constexpr int kWarpsN = kBN / kWarpN;   // 2 warps across, 4 down
constexpr int kLanesN = 8;              // lanes across a warp tile (4 down)
constexpr int kSubM = kWarpM / 2, kSubN = kWarpN / 2;  // offsets of the second sub-tile in each direction
static_assert((kBM / kWarpM) * (kBN / kWarpN) * 32 == kThreads, "8 warps cover the block tile");
static_assert((32 / kLanesN) * 4 * 2 == kWarpM && kLanesN * 4 * 2 == kWarpN, "32 lanes cover a warp tile");

template <bool kVec>
__global__ void __launch_bounds__(kThreads, 2)
    sgemm_v5_warptile(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ B,
                      float* __restrict__ C) {
  __shared__ __align__(16) float As[2][kBK][kBM + kAPad];
  __shared__ __align__(16) float Bs[2][kBK][kBN];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int block_row = blockIdx.y * kBM, block_col = blockIdx.x * kBN;
  // First row and column of this thread's upper-left 4x4 sub-tile, within the block tile.
  const int row0 = (warp / kWarpsN) * kWarpM + (lane / kLanesN) * 4;
  const int col0 = (warp % kWarpsN) * kWarpN + (lane % kLanesN) * 4;
  const TileLoad load(tid);
  const int tiles = ceil_div(K, kBK);

  // Prologue: tile 0 into buffer 0.
  store_a_transposed(As[0], load, load_float4<kVec>(A, M, K, block_row + load.a_row, load.a_col));
  store_b(Bs[0], load, load_float4<kVec>(B, K, N, load.b_row, block_col + load.b_col));
  __syncthreads();

  float acc[8][8] = {};  // [sub-tile row * 4 + i][sub-tile col * 4 + j]
  for (int t = 0; t < tiles; ++t) {
    const int cur = t % 2;
    const bool has_next = t + 1 < tiles;
    // Issue the next tile's global loads now; their results are first needed after the math below.
    float4 next_a = make_float4(0.0f, 0.0f, 0.0f, 0.0f), next_b = next_a;
    if (has_next) {
      const int k0 = (t + 1) * kBK;
      next_a = load_float4<kVec>(A, M, K, block_row + load.a_row, k0 + load.a_col);
      next_b = load_float4<kVec>(B, K, N, k0 + load.b_row, block_col + load.b_col);
    }
#pragma unroll
    for (int p = 0; p < kBK; ++p) {
      float a[8], b[8];
      *reinterpret_cast<float4*>(&a[0]) = *reinterpret_cast<const float4*>(&As[cur][p][row0]);
      *reinterpret_cast<float4*>(&a[4]) = *reinterpret_cast<const float4*>(&As[cur][p][row0 + kSubM]);
      *reinterpret_cast<float4*>(&b[0]) = *reinterpret_cast<const float4*>(&Bs[cur][p][col0]);
      *reinterpret_cast<float4*>(&b[4]) = *reinterpret_cast<const float4*>(&Bs[cur][p][col0 + kSubN]);
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] += a[i] * b[j];
    }
    if (has_next) {
      store_a_transposed(As[cur ^ 1], load, next_a);
      store_b(Bs[cur ^ 1], load, next_b);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int r = block_row + row0 + (i / 4) * kSubM + i % 4;
#pragma unroll
    for (int j = 0; j < 8; j += 4)
      store_float4<kVec>(C, M, N, r, block_col + col0 + (j / 4) * kSubN,
                         make_float4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]));
  }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

void launch_teaching_sgemm(int version, const float* a, const float* b, float* c, int m, int n, int k) {
  constexpr const char* op = "teaching_sgemm";
  const auto grid_for = [&](int block_m, int block_n) {
    const int rows = ceil_div(m, block_m);
    TRIFECTA_CHECK(rows <= 65535, op, m, " rows need ", rows, " blocks along grid y, over CUDA's 65535");
    return dim3(static_cast<unsigned>(ceil_div(n, block_n)), static_cast<unsigned>(rows));
  };
  const bool vec = k % 4 == 0 && n % 4 == 0 && aligned16(a) && aligned16(b) && aligned16(c);
  cudaStream_t stream = gpu::stream();
  switch (version) {
    case 1:
      sgemm_v1_naive<<<grid_for(kNaiveBlockY, kNaiveBlockX), dim3(kNaiveBlockX, kNaiveBlockY), 0, stream>>>(m, n, k, a,
                                                                                                          b, c);
      break;
    case 2: sgemm_v2_shared<<<grid_for(kTile, kTile), dim3(kTile, kTile), 0, stream>>>(m, n, k, a, b, c); break;
    case 3: sgemm_v3_1d_blocktile<<<grid_for(kV3BM, kV3BN), kV3Threads, 0, stream>>>(m, n, k, a, b, c); break;
    case 4:
      if (vec) sgemm_v4_2d_blocktile<true><<<grid_for(kBM, kBN), kThreads, 0, stream>>>(m, n, k, a, b, c);
      else sgemm_v4_2d_blocktile<false><<<grid_for(kBM, kBN), kThreads, 0, stream>>>(m, n, k, a, b, c);
      break;
    case 5:
      if (vec) sgemm_v5_warptile<true><<<grid_for(kBM, kBN), kThreads, 0, stream>>>(m, n, k, a, b, c);
      else sgemm_v5_warptile<false><<<grid_for(kBM, kBN), kThreads, 0, stream>>>(m, n, k, a, b, c);
      break;
    default: TRIFECTA_FAIL(op, "no version ", version);
  }
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

}  // namespace trifecta
