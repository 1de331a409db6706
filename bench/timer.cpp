// Timing by the host clock around batches of back-to-back runs, synchronizing the device only at batch
// ends: a batch lasts at least a millisecond, so synchronization costs little even for 20-microsecond GPU
// kernels, while launch overhead (which users pay too) stays in the figure. PyTorch's side of each
// benchmark (bench/reference/) times the same way.
#include "bench/timer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace trifecta::bench {

Timing time_it(const std::function<void()>& fn, Device device, int warmup, int min_runs, double min_seconds) {
  const char* clock_setting = std::getenv("TRIFECTA_BENCH_CLOCK");
  const bool cpu_time = device.is_cpu() && clock_setting != nullptr && std::strcmp(clock_setting, "cpu") == 0;
  const auto now_ms = [cpu_time] {
    timespec t{};
    clock_gettime(cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
  };
  const auto sync = [&] {
    if (device.is_cuda()) cuda_backend::synchronize();
  };
  for (int i = 0; i < warmup; ++i) fn();
  sync();
  double t0 = now_ms();
  fn();
  sync();
  const double single_ms = std::max(now_ms() - t0, 1e-4);
  const int batch = static_cast<int>(std::max(1.0, std::ceil(1.0 / single_ms)));

  std::vector<double> samples;
  const double start = now_ms();
  while (static_cast<int>(samples.size()) < min_runs || now_ms() - start < min_seconds * 1000.0) {
    t0 = now_ms();
    for (int i = 0; i < batch; ++i) fn();
    sync();
    samples.push_back((now_ms() - t0) / batch);
    if (samples.size() >= 1000) break;
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return {samples[samples.size() / 2], *std::min_element(samples.begin(), samples.end()),
          static_cast<int>(samples.size()) * batch};
}

}  // namespace trifecta::bench
