// A training progress line: step count, a bar, named values of the latest step (loss, KL), throughput and
// ETA. On a terminal it redraws one line in place; otherwise (a log file, CI) it prints a new line every few
// seconds, so logs stay readable. A value that is NaN or infinite is shown as such ("loss nan").
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace trifecta {

class ProgressBar {
 public:
  ProgressBar(int64_t first_step, int64_t total_steps, std::string unit = "img");
  // Reports reaching `step`, having processed `items` units since the last call. The line is drawn at the
  // last step, when `force` asks for it (a run stopping early), or when the previous one is old enough.
  void update(int64_t step, int64_t items, const std::vector<std::pair<std::string, double>>& values,
              bool force = false);
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  int64_t first_step_, total_steps_;
  std::string unit_;
  bool tty_;
  Clock::time_point start_, last_print_;
  int64_t items_ = 0;
  std::string last_line_;
};

}  // namespace trifecta
