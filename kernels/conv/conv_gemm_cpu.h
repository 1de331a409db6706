// A float32 GEMM for the CPU convolution, C[M, N] = bias + A[M, K] @ B[K, N], in the layout of Goto and van
// de Geijn ("Anatomy of High-Performance Matrix Multiplication", ACM TOMS 34(3), 2008) and BLIS (Van Zee and
// van de Geijn, ACM TOMS 41(3), 2015): A is packed once into panels of `rows` rows, B block by block into
// panels of `columns` columns, and a register-blocked micro-kernel multiplies one A panel by one B panel.
//
// Why not BLAS: the B of a convolution is the unfolded input (im2col), which a BLAS call would read once to
// build and once more to repack into its own panels. Here the caller supplies B already packed, by a
// callback that writes the panels straight from the input (implicit GEMM, conv_cpu.cpp), so the unfolded
// matrix is never written whole. A is the weights, packed once per call and shared by every thread.
//
// Blocking: a block of B, up to kBlockColumns wide, stays in L2 (1 MiB) while every A panel passes over each
// of its depth x columns panels, sized to stay in L1 (32 KiB). The micro-kernel keeps its rows x columns
// tile of C in registers: per step of k it loads the B panel's row, broadcasts `rows` scalars of A and
// issues one FMA per accumulator. Two tiles:
//   - 6 x 16 with AVX2 + FMA (the x86-64-v3 build baseline): 12 ymm accumulators, 8 loads per 12 FMAs;
//   - 8 x 48 with AVX-512, chosen at run time when the CPU has it (the build stays x86-64-v3): 24 zmm
//     accumulators, 11 loads per 24 FMAs of twice the width.
// On one AMD Zen 4 core both ran a GEMM of prepacked panels at about 106 GFLOP/s, the FMA units' limit
// there; in the convolution the wider tile came out about 3% faster (half the panels to pack and visit).
// Built for another ISA, the 6 x 16 tile runs as plain C++ over the same layout.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace trifecta::conv_gemm {

constexpr int64_t kBlockColumns = 768;  // most columns per B block
constexpr int64_t kMostRows = 8, kMostColumns = 48;

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// tile[rows][ldt] = (first ? bias : tile) + a_panel[depth][rows] @ b_panel[depth][columns].
using MicroKernel = void(int64_t depth, const float* a, const float* b, const float* bias, bool first, float* tile,
                         int64_t ldt);

struct Tile {
  int64_t rows, columns, depth;  // depth: most k per block, a B panel of 16-24 KiB
  MicroKernel* kernel;
};

#if defined(__AVX2__) && defined(__FMA__)
// Named accumulators: GCC keeps an array of vectors in memory across the loop (a store per FMA).
inline void kernel_6x16(int64_t depth, const float* a, const float* b, const float* bias, bool first, float* tile,
                        int64_t ldt) {
#define TRIFECTA_TILE_ROW(r)                                                                  \
  __m256 c##r##0 = first ? _mm256_broadcast_ss(bias + r) : _mm256_loadu_ps(tile + r * ldt);     \
  __m256 c##r##1 = first ? _mm256_broadcast_ss(bias + r) : _mm256_loadu_ps(tile + r * ldt + 8);
  TRIFECTA_TILE_ROW(0) TRIFECTA_TILE_ROW(1) TRIFECTA_TILE_ROW(2) TRIFECTA_TILE_ROW(3) TRIFECTA_TILE_ROW(4)
  TRIFECTA_TILE_ROW(5)
#undef TRIFECTA_TILE_ROW
#pragma GCC unroll 4
  for (int64_t k = 0; k < depth; ++k, a += 6, b += 16) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#define TRIFECTA_TILE_FMA(r)                      \
  {                                               \
    const __m256 ar = _mm256_broadcast_ss(a + r); \
    c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);   \
    c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1);   \
  }
    TRIFECTA_TILE_FMA(0) TRIFECTA_TILE_FMA(1) TRIFECTA_TILE_FMA(2) TRIFECTA_TILE_FMA(3) TRIFECTA_TILE_FMA(4)
    TRIFECTA_TILE_FMA(5)
#undef TRIFECTA_TILE_FMA
  }
#define TRIFECTA_TILE_STORE(r)                 \
  _mm256_storeu_ps(tile + r * ldt, c##r##0);   \
  _mm256_storeu_ps(tile + r * ldt + 8, c##r##1);
  TRIFECTA_TILE_STORE(0) TRIFECTA_TILE_STORE(1) TRIFECTA_TILE_STORE(2) TRIFECTA_TILE_STORE(3)
  TRIFECTA_TILE_STORE(4) TRIFECTA_TILE_STORE(5)
#undef TRIFECTA_TILE_STORE
}
#else
inline void kernel_6x16(int64_t depth, const float* a, const float* b, const float* bias, bool first, float* tile,
                        int64_t ldt) {
  float c[6][16];
  for (int r = 0; r < 6; ++r)
    for (int j = 0; j < 16; ++j) c[r][j] = first ? bias[r] : tile[r * ldt + j];
  for (int64_t k = 0; k < depth; ++k)
    for (int r = 0; r < 6; ++r)
      for (int j = 0; j < 16; ++j) c[r][j] += a[k * 6 + r] * b[k * 16 + j];
  for (int r = 0; r < 6; ++r) std::memcpy(tile + r * ldt, c[r], sizeof c[r]);
}
#endif

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__)
#define TRIFECTA_CONV_AVX512 1
__attribute__((target("avx512f"))) inline void kernel_8x48(int64_t depth, const float* a, const float* b,
                                                           const float* bias, bool first, float* tile, int64_t ldt) {
#define TRIFECTA_TILE_ROW(r)                                                                      \
  __m512 c##r##0 = first ? _mm512_set1_ps(bias[r]) : _mm512_loadu_ps(tile + r * ldt);              \
  __m512 c##r##1 = first ? _mm512_set1_ps(bias[r]) : _mm512_loadu_ps(tile + r * ldt + 16);         \
  __m512 c##r##2 = first ? _mm512_set1_ps(bias[r]) : _mm512_loadu_ps(tile + r * ldt + 32);
  TRIFECTA_TILE_ROW(0) TRIFECTA_TILE_ROW(1) TRIFECTA_TILE_ROW(2) TRIFECTA_TILE_ROW(3) TRIFECTA_TILE_ROW(4)
  TRIFECTA_TILE_ROW(5) TRIFECTA_TILE_ROW(6) TRIFECTA_TILE_ROW(7)
#undef TRIFECTA_TILE_ROW
#pragma GCC unroll 2
  for (int64_t k = 0; k < depth; ++k, a += 8, b += 48) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16), b2 = _mm512_load_ps(b + 32);
#define TRIFECTA_TILE_FMA(r)                   \
  {                                            \
    const __m512 ar = _mm512_set1_ps(a[r]);    \
    c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0); \
    c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1); \
    c##r##2 = _mm512_fmadd_ps(ar, b2, c##r##2); \
  }
    TRIFECTA_TILE_FMA(0) TRIFECTA_TILE_FMA(1) TRIFECTA_TILE_FMA(2) TRIFECTA_TILE_FMA(3) TRIFECTA_TILE_FMA(4)
    TRIFECTA_TILE_FMA(5) TRIFECTA_TILE_FMA(6) TRIFECTA_TILE_FMA(7)
#undef TRIFECTA_TILE_FMA
  }
#define TRIFECTA_TILE_STORE(r)                      \
  _mm512_storeu_ps(tile + r * ldt, c##r##0);        \
  _mm512_storeu_ps(tile + r * ldt + 16, c##r##1);   \
  _mm512_storeu_ps(tile + r * ldt + 32, c##r##2);
  TRIFECTA_TILE_STORE(0) TRIFECTA_TILE_STORE(1) TRIFECTA_TILE_STORE(2) TRIFECTA_TILE_STORE(3)
  TRIFECTA_TILE_STORE(4) TRIFECTA_TILE_STORE(5) TRIFECTA_TILE_STORE(6) TRIFECTA_TILE_STORE(7)
#undef TRIFECTA_TILE_STORE
}
#endif

constexpr Tile kTile6x16{6, 16, 256, &kernel_6x16};

// The widest tile this CPU runs.
inline const Tile& best_tile() {
#ifdef TRIFECTA_CONV_AVX512
  static const Tile tile = __builtin_cpu_supports("avx512f") ? Tile{8, 48, 112, &kernel_8x48} : kTile6x16;
  return tile;
#else
  return kTile6x16;
#endif
}

// Splits [0, n) into near-equal blocks of at most about `most`, each but the last a multiple of `unit`:
// calls body(begin, size) for each.
template <class F>
void for_each_block(int64_t n, int64_t most, int64_t unit, const F& body) {
  const int64_t blocks = (n + most - 1) / most, size = round_up((n + blocks - 1) / blocks, unit);
  for (int64_t begin = 0; begin < n; begin += size) body(begin, std::min(size, n - begin));
}

// A [M, K] row-major packed as ceil(M / rows) panels, each [K][rows] (k-major, so a depth block of a panel
// is one contiguous run); rows past M are zero. bias padded to the same rows (zero when absent).
struct PackedA {
  Tile tile;
  int64_t rows = 0, depth = 0;
  std::vector<float> panels, bias;
};

inline PackedA pack_a(const Tile& tile, const float* a, int64_t rows, int64_t depth, const float* bias) {
  PackedA p{tile, rows, depth, {}, {}};
  const int64_t padded = round_up(rows, tile.rows);
  p.panels.assign(static_cast<size_t>(padded * depth), 0.0f);
  p.bias.assign(static_cast<size_t>(padded), 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    float* panel = p.panels.data() + (r / tile.rows) * depth * tile.rows + r % tile.rows;
    for (int64_t k = 0; k < depth; ++k) panel[k * tile.rows] = a[r * depth + k];
    if (bias) p.bias[static_cast<size_t>(r)] = bias[r];
  }
  return p;
}

// dst[0 : columns] = src[0 : columns] for one row of a B panel, at a size known to the compiler for the
// two tiles (a call to memmove per row cost more than the copy).
inline void copy_panel_row(float* dst, const float* src, int64_t columns) {
  if (columns == 48) {
    std::memcpy(dst, src, 48 * sizeof(float));
  } else if (columns == 16) {
    std::memcpy(dst, src, 16 * sizeof(float));
  } else {
    std::copy_n(src, columns, dst);
  }
}

// 64-byte aligned float scratch (the micro-kernels read B panels with aligned loads).
class AlignedBuffer {
 public:
  float* get(int64_t size) {
    if (size > capacity_) {
      storage_.assign(static_cast<size_t>(size + 16), 0.0f);
      capacity_ = size;
    }
    const auto address = reinterpret_cast<uintptr_t>(storage_.data());
    return storage_.data() + ((64 - address % 64) % 64) / sizeof(float);
  }

 private:
  std::vector<float> storage_;
  int64_t capacity_ = 0;
};

// C[M, N] (row stride ldc) = bias + A @ B, B supplied by pack_b(k0, depth, n0, columns, out): it writes
// B[k0 : k0+depth, n0 : n0+columns] as ceil(columns / tile.columns) panels of [depth][tile.columns], the
// columns past the end zero. `scratch` holds the B block between calls (one per thread).
template <class PackB>
void gemm(const PackedA& a, int64_t columns, const PackB& pack_b, float* c, int64_t ldc, AlignedBuffer& scratch) {
  const Tile& tile = a.tile;
  const int64_t M = a.rows, K = a.depth, MR = tile.rows, NR = tile.columns;
  float* block = scratch.get(tile.depth * round_up(kBlockColumns + NR, NR));
  alignas(64) float edge[kMostRows * kMostColumns];
  for_each_block(columns, kBlockColumns, NR, [&](int64_t n0, int64_t nc) {
    for_each_block(K, tile.depth, 1, [&](int64_t k0, int64_t kc) {
      pack_b(k0, kc, n0, nc, block);
      const bool first = k0 == 0;
      for (int64_t j = 0; j < nc; j += NR) {
        const float* b = block + (j / NR) * kc * NR;
        const int64_t width = std::min(NR, nc - j);
        for (int64_t i = 0; i < M; i += MR) {
          const float* panel = a.panels.data() + (i / MR) * K * MR + k0 * MR;
          const float* bias = a.bias.data() + i;
          float* out = c + i * ldc + n0 + j;
          const int64_t height = std::min(MR, M - i);
          if (height == MR && width == NR) {
            tile.kernel(kc, panel, b, bias, first, out, ldc);
            continue;
          }
          // A ragged edge computes into a full tile and copies back only what lies inside C.
          const size_t bytes = static_cast<size_t>(width) * sizeof(float);
          if (!first)
            for (int64_t r = 0; r < height; ++r) std::memcpy(edge + r * NR, out + r * ldc, bytes);
          tile.kernel(kc, panel, b, bias, first, edge, NR);
          for (int64_t r = 0; r < height; ++r) std::memcpy(out + r * ldc, edge + r * NR, bytes);
        }
      }
    });
  });
}

}  // namespace trifecta::conv_gemm
