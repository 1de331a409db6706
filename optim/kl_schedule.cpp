// KL-weight schedules: the formulas (see kl_schedule.h), their checks and their text form.
#include "optim/kl_schedule.h"

#include <algorithm>
#include <cmath>

#include "optim/schedule_text.h"
#include "tensor/error.h"

namespace trifecta::optim {
namespace {

constexpr const char* kWhat = "--kl-schedule";

}  // namespace

double monotonic_kl_weight(int64_t step, int64_t warmup_steps) {
  TRIFECTA_CHECK(step >= 0, "monotonic_kl_weight", "the step must be non-negative, got ", step);
  TRIFECTA_CHECK(warmup_steps >= 1, "monotonic_kl_weight", "the ramp needs at least 1 step, got ", warmup_steps);
  return std::min(1.0, static_cast<double>(step) / static_cast<double>(warmup_steps));
}

double cyclical_kl_weight(int64_t step, int64_t total_steps, int64_t cycles, double ratio) {
  TRIFECTA_CHECK(step >= 0, "cyclical_kl_weight", "the step must be non-negative, got ", step);
  TRIFECTA_CHECK(cycles >= 1 && total_steps >= cycles, "cyclical_kl_weight", "needs 1 <= M <= T, got M = ", cycles,
                 " and T = ", total_steps);
  TRIFECTA_CHECK(ratio > 0.0 && ratio <= 1.0, "cyclical_kl_weight", "R must lie in (0, 1], got ", ratio);
  if (step >= total_steps) return 1.0;
  const double period = static_cast<double>(total_steps) / static_cast<double>(cycles);
  const double position = static_cast<double>(step) - std::floor(static_cast<double>(step) / period) * period;
  return std::min(1.0, position / (period * ratio));
}

double KlSchedule::beta(int64_t step) const {
  switch (kind) {
    case KlScheduleKind::Constant:
      TRIFECTA_CHECK(step >= 0, "KlSchedule", "the step must be non-negative, got ", step);
      return value;
    case KlScheduleKind::Monotonic: return monotonic_kl_weight(step, warmup_steps);
    case KlScheduleKind::Cyclical: return cyclical_kl_weight(step, total_steps, cycles, ratio);
  }
  TRIFECTA_FAIL("KlSchedule", "unknown kind ", static_cast<int>(kind));
}

void KlSchedule::validate() const {
  TRIFECTA_CHECK(kind != KlScheduleKind::Constant || (value >= 0.0 && std::isfinite(value)), "KlSchedule",
                 "the constant weight must be non-negative, got ", value);
  beta(0);  // runs the checks of the schedule's formula
}

std::string KlSchedule::str() const {
  switch (kind) {
    case KlScheduleKind::Constant: return "constant:" + format_schedule_number(value);
    case KlScheduleKind::Monotonic: return "monotonic:" + std::to_string(warmup_steps);
    case KlScheduleKind::Cyclical:
      return "cyclical:T=" + std::to_string(total_steps) + ",M=" + std::to_string(cycles) +
             ",R=" + format_schedule_number(ratio);
  }
  TRIFECTA_FAIL("KlSchedule", "unknown kind ", static_cast<int>(kind));
}

KlSchedule KlSchedule::parse(const std::string& text) {
  const ScheduleText parts = split_schedule_text(text);
  KlSchedule s;
  if (parts.kind == "constant") {
    s.value = parse_schedule_arguments(text, parts, {{"value", true, 0}}, kWhat)["value"];
  } else if (parts.kind == "monotonic") {
    s.kind = KlScheduleKind::Monotonic;
    s.warmup_steps = static_cast<int64_t>(parse_schedule_arguments(text, parts, {{"N", true, 0, true}}, kWhat)["N"]);
  } else if (parts.kind == "cyclical") {
    auto v = parse_schedule_arguments(text, parts, {{"T", true, 0, true}, {"M", false, 4, true}, {"R", false, 0.5}}, kWhat);
    s.kind = KlScheduleKind::Cyclical;
    s.total_steps = static_cast<int64_t>(v["T"]);
    s.cycles = static_cast<int64_t>(v["M"]);
    s.ratio = v["R"];
  } else {
    TRIFECTA_FAIL(kWhat, "unknown KL schedule '", parts.kind, "' in '", text,
                  "' (expected constant:<beta>, monotonic:<N> or cyclical:T=<steps>,M=<cycles>,R=<ratio>)");
  }
  try {
    s.validate();
  } catch (const Error& e) {
    TRIFECTA_FAIL(kWhat, "'", text, "': ", e.what());
  }
  return s;
}

}  // namespace trifecta::optim
