// Timing for benchmarks: warm up, then repeat until enough time has passed, and report the median (robust
// to occasional noise) and the minimum (the least disturbed batch, which says more when other jobs keep the
// machine's cores busy most of the time).
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "tensor/backend.h"
#include "tensor/device.h"

namespace trifecta::bench {

struct Timing {
  double median_ms;
  double min_ms;
  int runs;
};

// Times fn on device: `warmup` untimed runs, then at least min_runs and until min_seconds have passed.
Timing time_it(const std::function<void()>& fn, Device device, int warmup = 3, int min_runs = 10,
               double min_seconds = 0.3);

}  // namespace trifecta::bench
