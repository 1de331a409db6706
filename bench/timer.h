// Timing for benchmarks: warm up, then repeat until enough time has passed, and report the median (robust
// to occasional noise) and the minimum (the least disturbed batch, which says more when other jobs keep the
// machine's cores busy most of the time).
#pragma once

#include <algorithm>
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
// TRIFECTA_BENCH_CLOCK=cpu times CPU work by the process's CPU time instead of the wall clock: on a machine
// whose cores other jobs crowd, a single-threaded run's CPU time is the kernel's own cost, while its wall
// time mostly measures how long it waited for a core (bench/compare_builds.py --clock cpu).
Timing time_it(const std::function<void()>& fn, Device device, int warmup = 3, int min_runs = 10,
               double min_seconds = 0.3);

}  // namespace trifecta::bench
