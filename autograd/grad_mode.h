// Switches that change what ops record: grad mode (off inside NoGradGuard, e.g. for optimizer updates and
// evaluation) and anomaly mode (every op checks its outputs for NaN/Inf and names itself when it finds one).
#pragma once

namespace trifecta {

// Grad mode is per thread, like PyTorch's: a data-loader thread never records a graph.
bool grad_enabled();
void set_grad_enabled(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Anomaly mode is process-wide and can be switched at run time (also by TRIFECTA_ANOMALY=1 at start-up).
// Each check synchronizes with the device, so it costs speed; use it to find where a NaN is born.
bool anomaly_enabled();
void set_anomaly_enabled(bool enabled);

}  // namespace trifecta
