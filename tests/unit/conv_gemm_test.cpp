// The CPU convolution's own GEMM (kernels/conv/conv_gemm_cpu.h), each micro-kernel tile against a float64
// product by the definition: the op specs reach only the widest tile this machine runs, so the 6 x 16 AVX2
// tile (the build baseline's) is checked here too. Shapes are off the tiles in every direction and span
// several depth and column blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/conv/conv_gemm_cpu.h"

namespace trifecta {
namespace {

using conv_gemm::Tile;

// Entry (r, c) of a test matrix: varied, exact in float32, never all equal along a row or column.
float entry(int64_t r, int64_t c, int64_t salt) { return static_cast<float>((r * 7 + c * 13 + salt) % 17 - 8) / 8.0f; }

void check_tile(const Tile& tile, int64_t M, int64_t K, int64_t N, bool with_bias) {
  SCOPED_TRACE("tile " + std::to_string(tile.rows) + "x" + std::to_string(tile.columns) + ", M " + std::to_string(M) +
               " K " + std::to_string(K) + " N " + std::to_string(N));
  std::vector<float> a(static_cast<size_t>(M * K)), bias(static_cast<size_t>(M));
  for (int64_t r = 0; r < M; ++r) {
    bias[static_cast<size_t>(r)] = entry(r, 0, 5);
    for (int64_t k = 0; k < K; ++k) a[static_cast<size_t>(r * K + k)] = entry(r, k, 1);
  }
  const conv_gemm::PackedA packed = conv_gemm::pack_a(tile, a.data(), M, K, with_bias ? bias.data() : nullptr);
  // B's panels straight from the definition B[k, n] = entry(k, n, 3), zero past column N.
  const auto pack = [&](int64_t k0, int64_t depth, int64_t n0, int64_t nc, float* panels) {
    for (int64_t j = 0; j < nc; j += tile.columns)
      for (int64_t k = 0; k < depth; ++k)
        for (int64_t t = 0; t < tile.columns; ++t)
          panels[(j / tile.columns * depth + k) * tile.columns + t] = j + t < nc ? entry(k0 + k, n0 + j + t, 3) : 0.0f;
  };
  const int64_t ldc = N + 3;  // C's rows further apart than its width: nothing may land in the gap
  std::vector<float> c(static_cast<size_t>(M * ldc), -99.0f);
  conv_gemm::AlignedBuffer scratch;
  conv_gemm::gemm(packed, N, pack, c.data(), ldc, scratch);
  for (int64_t r = 0; r < M; ++r) {
    for (int64_t n = 0; n < N; ++n) {
      double expected = with_bias ? bias[static_cast<size_t>(r)] : 0.0;
      for (int64_t k = 0; k < K; ++k) expected += double(a[static_cast<size_t>(r * K + k)]) * entry(k, n, 3);
      ASSERT_NEAR(c[static_cast<size_t>(r * ldc + n)], expected, 1e-4 * (1.0 + std::fabs(expected))) << r << ", " << n;
    }
    for (int64_t n = N; n < ldc; ++n) ASSERT_EQ(c[static_cast<size_t>(r * ldc + n)], -99.0f) << "gap written";
  }
}

TEST(ConvGemm, EveryTileMatchesTheDefinition) {
  std::vector<Tile> tiles = {conv_gemm::kTile6x16};
  if (conv_gemm::best_tile().kernel != conv_gemm::kTile6x16.kernel) tiles.push_back(conv_gemm::best_tile());
  for (const Tile& tile : tiles) {
    check_tile(tile, tile.rows, tile.depth, tile.columns, true);  // exactly one tile
    check_tile(tile, 13, 300, 1601, true);                         // ragged: 2-3 depth blocks, 3 column blocks
    check_tile(tile, 5, 7, 9, false);                              // smaller than one tile
  }
}

}  // namespace
}  // namespace trifecta
