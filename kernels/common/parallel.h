// CPU parallelism: one parallel_for over an index range on OpenMP threads. Work below the grain size runs
// inline, because waking threads costs a few microseconds, more than a small kernel itself.
#pragma once

#include <cstdint>

#include <omp.h>

namespace trifecta {

// Typical grain sizes: elementwise ops do ~1 ns of work per element, so 32k elements is ~30 us per chunk.
constexpr int64_t kElementwiseGrain = 32768;

template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& body) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int max_threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t chunks = n / (grain > 0 ? grain : 1);
  const int threads = static_cast<int>(chunks < max_threads ? (chunks < 1 ? 1 : chunks) : max_threads);
  if (threads <= 1) {
    body(begin, end);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t per = (n + threads - 1) / threads;
    const int64_t lo = begin + t * per;
    const int64_t hi = lo + per < end ? lo + per : end;
    if (lo < hi) body(lo, hi);
  }
}

// Sets the number of CPU threads for trifecta's kernels and its BLAS.
void set_num_threads(int threads);
int get_num_threads();

}  // namespace trifecta
