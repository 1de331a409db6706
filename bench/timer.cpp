// Timing by the host clock around batches of back-to-back runs, synchronizing the device only at batch
// ends: a batch lasts at least a millisecond, so synchronization costs little even for 20-microsecond GPU
// kernels, while launch overhead (which users pay too) stays in the figure. PyTorch's side of each
// benchmark (bench/reference/) times the same way.
#include "bench/timer.h"

#include <cmath>

namespace trifecta::bench {

Timing time_it(const std::function<void()>& fn, Device device, int warmup, int min_runs, double min_seconds) {
  using clock = std::chrono::steady_clock;
  const auto sync = [&] {
    if (device.is_cuda()) cuda_backend::synchronize();
  };
  const auto elapsed_ms = [](clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  for (int i = 0; i < warmup; ++i) fn();
  sync();
  auto t0 = clock::now();
  fn();
  sync();
  const double single_ms = std::max(elapsed_ms(t0), 1e-4);
  const int batch = static_cast<int>(std::max(1.0, std::ceil(1.0 / single_ms)));

  std::vector<double> samples;
  const auto start = clock::now();
  while (static_cast<int>(samples.size()) < min_runs || elapsed_ms(start) < min_seconds * 1000.0) {
    t0 = clock::now();
    for (int i = 0; i < batch; ++i) fn();
    sync();
    samples.push_back(elapsed_ms(t0) / batch);
    if (samples.size() >= 1000) break;
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return {samples[samples.size() / 2], *std::min_element(samples.begin(), samples.end()),
          static_cast<int>(samples.size()) * batch};
}

}  // namespace trifecta::bench
