// Teaching SGEMM: float32 C = A · B for row-major matrices, written five times over, each version adding
// one idea to the one before, in the spirit of llm.c's kernel files. Read sgemm_teaching.cu top to bottom.
//
//   1  naive               one thread per output element, reading A and B straight from global memory;
//                          neighbouring threads take neighbouring columns, so B and C accesses coalesce
//   2  shared tiling       a block stages 32x32 tiles of A and B in shared memory, so each global element is
//                          loaded once per tile instead of once per output that needs it (32x fewer loads)
//   3  1-D register tiles  64x64 block tiles, and each thread computes a column of 8 outputs: one value of B
//                          read from shared memory serves 8 multiply-adds held in registers
//   4  2-D register tiles  128x128 block tiles, 256 threads each owning an 8x8 outer product: 16 shared
//                          loads feed 64 FMAs. Global loads are float4; the A tile is stored transposed
//                          (k-major) so a thread's 8 values of A are contiguous and load as two float4s too
//   5  warp tiles +        the 8x8 per thread becomes 2x2 sub-tiles of 4x4 spread across a warp's 32x64 tile,
//      double buffering    so a warp's float4 shared loads hit 32 distinct banks (conflict-free); two shared
//                          buffers let the next tile's global loads overlap this tile's math, one barrier each
//
// Every version handles any M, N, K: out-of-range loads read zeros and out-of-range stores are skipped.
// Versions 4 and 5 use float4 global accesses when K and N are multiples of 4 and the pointers are 16-byte
// aligned, and scalar ones otherwise. The benchmark is bench/sgemm_bench.cpp.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

constexpr int kTeachingSgemmVersions = 5;

// out = a · b with teaching kernel `version` (1..kTeachingSgemmVersions): a [M, K], b [K, N], out [M, N],
// all contiguous float32 on the CUDA device, each with fewer than 2^31 elements (the kernels index with
// 32-bit ints). Anything else throws naming teaching_sgemm.
void teaching_sgemm(int version, const Tensor& a, const Tensor& b, const Tensor& out);

// The launch itself, after validation (sgemm_teaching.cu; CUDA builds only).
void launch_teaching_sgemm(int version, const float* a, const float* b, float* c, int m, int n, int k);

}  // namespace trifecta
