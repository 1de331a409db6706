// CPU nearest_code: tiles of feature rows against the whole codebook, through OpenBLAS.
//
// For finite values d_k = ||h||^2 - 2 h·e_k + ||e_k||^2, and ||h||^2 is the same for every k, so the argmin
// of d_k is the argmin of the score s_k = ||e_k||^2 - 2 h·e_k: one GEMM per tile of rows gives every h·e_k,
// and the tile's [rows, K] scores (never all M rows at once) are scanned for their smallest. Equal up to
// rounding, not bit for bit: two entries within rounding of each other may be ordered differently than by
// the direct sums. Where a row's scores are not all finite (a NaN or inf in h or an entry, or an overflow of
// the expanded form), the row is redone with the direct sums of (h_c - e_kc)^2, which is the definition
// (kernels/quantize/quantize_ops.h), NaN and inf semantics included.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/quantize/quantize_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Scores a thread holds at once: 2^16 of them (256 KiB in float) stay in its caches while they are scanned.
constexpr int64_t kTileScores = int64_t{1} << 16;
// Rows worth splitting across threads: about a millisecond of multiply-adds each.
constexpr int64_t kParallelMultiplyAdds = int64_t{1} << 20;

// out[r][k] = a[r] · b[k] for a [rows, C] and b [K, C], both row-major.
void dot_products(int rows, int entries, int channels, const float* a, const float* b, float* out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, entries, channels, 1.0f, a, channels, b, channels, 0.0f,
              out, entries);
}
void dot_products(int rows, int entries, int channels, const double* a, const double* b, double* out) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, entries, channels, 1.0, a, channels, b, channels, 0.0,
              out, entries);
}

// A contiguous copy of x in the compute type A (a view, no copy, when x already is one).
template <class T, class A>
const A* in_compute_type(const T* x, int64_t n, std::vector<A>& storage) {
  if constexpr (std::is_same_v<T, A>) {
    return x;
  } else {
    storage.resize(n);
    for (int64_t i = 0; i < n; ++i) storage[i] = convert<A>(x[i]);
    return storage.data();
  }
}

// The definition, term by term: for rows the expanded form cannot rank.
template <class A>
int64_t nearest_by_direct_sums(const A* h, const A* codebook, int64_t entries, int64_t channels) {
  CodeCandidate<A> best{A(0), -1};
  for (int64_t k = 0; k < entries; ++k) {
    const A* e = codebook + k * channels;
    A distance = 0;
    for (int64_t c = 0; c < channels; ++c) distance += (h[c] - e[c]) * (h[c] - e[c]);
    best = nearer_code(best, CodeCandidate<A>{distance, k});
  }
  return best.index;
}

template <class T>
void nearest_code_typed(const T* features, const T* codebook_raw, int64_t rows, int64_t entries, int64_t channels,
                        int64_t* indices) {
  using A = compute_t<T>;
  std::vector<A> codebook_storage;
  const A* codebook = in_compute_type<T, A>(codebook_raw, entries * channels, codebook_storage);
  std::vector<A> squared_norms(entries);
  for (int64_t k = 0; k < entries; ++k) {
    A sum = 0;
    for (int64_t c = 0; c < channels; ++c) sum += codebook[k * channels + c] * codebook[k * channels + c];
    squared_norms[k] = sum;
  }

  // Each thread takes a share of the rows and works through it a tile at a time, its GEMMs on its own
  // thread (OpenBLAS's OpenMP build runs single-threaded inside a parallel region): one fork and join for
  // the whole call, where a multithreaded GEMM per tile would synchronize the threads twice per tile.
  const int64_t tile_rows = std::clamp<int64_t>(kTileScores / entries, 1, rows);
  const int64_t grain = std::max<int64_t>(1, kParallelMultiplyAdds / (entries * channels));
  parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<A> dots(tile_rows * entries), tile_storage;
    for (int64_t first = begin; first < end; first += tile_rows) {
      const int64_t count = std::min(tile_rows, end - first);
      const A* tile = in_compute_type<T, A>(features + first * channels, count * channels, tile_storage);
      dot_products(static_cast<int>(count), static_cast<int>(entries), static_cast<int>(channels), tile, codebook,
                   dots.data());
      for (int64_t r = 0; r < count; ++r) {
        const A* row_dots = dots.data() + r * entries;
        A best_score = squared_norms[0] - 2 * row_dots[0];
        int64_t best = 0;
        bool finite = math::isfinite(best_score);
        for (int64_t k = 1; k < entries; ++k) {
          const A score = squared_norms[k] - 2 * row_dots[k];
          finite = finite && math::isfinite(score);
          if (score < best_score) {
            best_score = score;
            best = k;
          }
        }
        indices[first + r] = finite ? best : nearest_by_direct_sums(tile + r * channels, codebook, entries, channels);
      }
    }
  });
}

void nearest_code_cpu(const Tensor& features, const Tensor& codebook, const Tensor& indices) {
  dispatch_dtype<DTypeSet::Floating>(features.dtype(), "nearest_code", [&](auto tag) {
    using T = typename decltype(tag)::type;
    nearest_code_typed<T>(static_cast<const T*>(features.raw_data()), static_cast<const T*>(codebook.raw_data()),
                          features.size(0), codebook.size(0), features.size(1),
                          static_cast<int64_t*>(indices.raw_data()));
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(nearest_code, CPU, &nearest_code_cpu);

}  // namespace trifecta
