// Storage for the grad-mode and anomaly-mode switches.
#include "autograd/grad_mode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace trifecta {

namespace {
thread_local bool grad_mode = true;
std::atomic<bool> anomaly_mode{[] {
  const char* env = std::getenv("TRIFECTA_ANOMALY");
  return env != nullptr && std::strcmp(env, "0") != 0;
}()};
}  // namespace

bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }
bool anomaly_enabled() { return anomaly_mode.load(std::memory_order_relaxed); }
void set_anomaly_enabled(bool enabled) { anomaly_mode.store(enabled, std::memory_order_relaxed); }

}  // namespace trifecta
