// Progress rendering.
#include "models/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace trifecta {

ProgressBar::ProgressBar(int64_t first_step, int64_t total_steps, std::string unit)
    : first_step_(first_step),
      total_steps_(total_steps),
      unit_(std::move(unit)),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_print_(Clock::now() - std::chrono::hours(1)) {}

void ProgressBar::update(int64_t step, int64_t items, const std::vector<std::pair<std::string, double>>& values,
                         bool force) {
  items_ += items;
  const auto now = Clock::now();
  const bool last = step >= total_steps_;
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  if (!last && !force && since_print < (tty_ ? 0.2 : 10.0)) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? items_ / elapsed : 0.0;
  const int64_t done = step - first_step_, left = total_steps_ - step;
  const double eta = done > 0 ? elapsed * static_cast<double>(left) / static_cast<double>(done) : 0.0;
  constexpr int kWidth = 24;
  const int filled = total_steps_ > 0 ? static_cast<int>(kWidth * step / total_steps_) : kWidth;
  std::string bar(kWidth, ' ');
  for (int i = 0; i < filled && i < kWidth; ++i) bar[i] = '=';
  if (filled < kWidth) bar[filled] = '>';
  char buffer[512];
  int n = std::snprintf(buffer, sizeof buffer, "[%s] %lld/%lld", bar.c_str(), static_cast<long long>(step),
                        static_cast<long long>(total_steps_));
  for (const auto& [name, value] : values) {
    if (n >= static_cast<int>(sizeof buffer)) break;
    // printf may write a NaN with its sign bit as "-nan"; the sign of a NaN means nothing.
    if (std::isnan(value)) n += std::snprintf(buffer + n, sizeof buffer - n, "  %s nan", name.c_str());
    else n += std::snprintf(buffer + n, sizeof buffer - n, "  %s %.4g", name.c_str(), value);
  }
  if (n < static_cast<int>(sizeof buffer))
    std::snprintf(buffer + n, sizeof buffer - n, "  %.0f %s/s  ETA %d:%02d", rate, unit_.c_str(),
                  static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  last_line_ = buffer;
  std::fprintf(stderr, tty_ ? "\r%s\033[K" : "%s\n", buffer);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace trifecta
