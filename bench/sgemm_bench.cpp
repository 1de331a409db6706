// SGEMM benchmark: every teaching kernel (kernels/matmul/sgemm_teaching.cu) against cuBLAS in float32
// (CUBLAS_COMPUTE_32F, no TF32) on square sizes and one odd size. Each kernel is first checked against
// cuBLAS on the same random inputs, then timed with CUDA events: a few warm-up launches, then the median of
// individually timed runs. Prints GFLOP/s (2 M N K per product) and the fraction of cuBLAS's throughput.
//
//   ./build-cuda/bench/sgemm_bench [runs]      (runs defaults to 25)
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "kernels/matmul/matmul.h"
#include "kernels/matmul/sgemm_teaching.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

namespace {

using namespace trifecta;

constexpr int kWarmup = 3;

// Median over `runs` launches, each bracketed by its own pair of events on trifecta's stream.
double median_ms(const std::function<void()>& launch, int runs) {
  for (int i = 0; i < kWarmup; ++i) launch();
  cudaEvent_t start, stop;
  TRIFECTA_CUDA_CHECK(cudaEventCreate(&start), "sgemm_bench");
  TRIFECTA_CUDA_CHECK(cudaEventCreate(&stop), "sgemm_bench");
  std::vector<float> times;
  for (int i = 0; i < runs; ++i) {
    TRIFECTA_CUDA_CHECK(cudaEventRecord(start, gpu::stream()), "sgemm_bench");
    launch();
    TRIFECTA_CUDA_CHECK(cudaEventRecord(stop, gpu::stream()), "sgemm_bench");
    TRIFECTA_CUDA_CHECK(cudaEventSynchronize(stop), "sgemm_bench");
    float ms = 0.0f;
    TRIFECTA_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop), "sgemm_bench");
    times.push_back(ms);
  }
  TRIFECTA_CUDA_CHECK(cudaEventDestroy(start), "sgemm_bench");
  TRIFECTA_CUDA_CHECK(cudaEventDestroy(stop), "sgemm_bench");
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct Size {
  int64_t m, n, k;
};

void bench_size(const Size& s, int runs) {
  const Tensor a = randn({s.m, s.k}, {DType::Float32, kCUDA}), b = randn({s.k, s.n}, {DType::Float32, kCUDA});
  const Tensor reference = empty({s.m, s.n}, {DType::Float32, kCUDA}), out = empty({s.m, s.n}, {DType::Float32, kCUDA});
  // cuBLAS through trifecta's matmul kernel, called directly so that no front-end work is timed.
  MatmulKernel* cublas = kernel_for<MatmulKernel>(OpId::matmul, kCUDA);
  const auto run_cublas = [&] { cublas(a.view({1, s.m, s.k}), b.view({1, s.k, s.n}), reference.view({1, s.m, s.n})); };
  const double flop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
  const auto gflops = [&](double ms) { return flop / (ms * 1e6); };

  std::printf("\nM=%lld N=%lld K=%lld\n", static_cast<long long>(s.m), static_cast<long long>(s.n),
              static_cast<long long>(s.k));
  const double cublas_ms = median_ms(run_cublas, runs);
  std::printf("  %-22s %10.3f ms %10.0f GFLOP/s %8s\n", "cuBLAS FP32", cublas_ms, gflops(cublas_ms), "100.0%");
  // Each output sums K products of N(0, 1) values; allow float32 rounding in a different summation order.
  const double scale = std::max(1.0, static_cast<double>(amax(abs(reference)).item<float>()));
  for (int version = 1; version <= kTeachingSgemmVersions; ++version) {
    teaching_sgemm(version, a, b, out);
    const double error = amax(abs(sub(out, reference))).item<float>();
    char name[32];
    std::snprintf(name, sizeof name, "teaching v%d", version);
    if (!(error <= 1e-4 * scale)) {
      std::printf("  %-22s WRONG: max |error| %.3g vs cuBLAS (max |C| %.3g); not timed\n", name, error, scale);
      continue;
    }
    const double ms = median_ms([&] { teaching_sgemm(version, a, b, out); }, runs);
    std::printf("  %-22s %10.3f ms %10.0f GFLOP/s %7.1f%%\n", name, ms, gflops(ms), 100.0 * cublas_ms / ms);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!trifecta::cuda_available()) {
    std::puts("sgemm_bench: no CUDA device present; this benchmark runs only on a GPU.");
    return 0;
  }
  const int runs = argc > 1 ? std::max(20, std::atoi(argv[1])) : 25;
  cudaDeviceProp props{};
  TRIFECTA_CUDA_CHECK(cudaGetDeviceProperties(&props, 0), "sgemm_bench");
  std::printf("sgemm_bench on %s: median of %d runs after %d warm-ups, float32 row-major C = A B\n", props.name, runs,
              kWarmup);
  for (const Size& s : std::vector<Size>{{1024, 1024, 1024}, {2048, 2048, 2048}, {4096, 4096, 4096}, {3001, 2999, 2003}})
    bench_size(s, runs);
  return 0;
}
