// Learning-rate schedules: the formulas (see lr_schedule.h), their checks and their text form.
#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "optim/optimizer.h"
#include "optim/schedule_text.h"
#include "tensor/error.h"

namespace trifecta::optim {
namespace {

constexpr const char* kWhat = "--lr-schedule";

void check_step(int64_t step, const char* schedule) {
  TRIFECTA_CHECK(step >= 0, schedule, "the step must be non-negative, got ", step);
}

}  // namespace

double step_decay_lr(double base_lr, int64_t step, int64_t step_size, double gamma) {
  check_step(step, "step_decay_lr");
  TRIFECTA_CHECK(step_size >= 1, "step_decay_lr", "step_size must be at least 1, got ", step_size);
  return base_lr * std::pow(gamma, static_cast<double>(step / step_size));
}

double cosine_lr(double base_lr, int64_t step, int64_t t_max, double eta_min, int64_t warmup_steps) {
  check_step(step, "cosine_lr");
  TRIFECTA_CHECK(warmup_steps >= 0 && t_max > warmup_steps, "cosine_lr", "T_max (", t_max,
                 ") must exceed the warm-up steps (", warmup_steps, ")");
  if (step < warmup_steps) return linear_warmup_lr(base_lr, step, warmup_steps);
  const double progress = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(t_max - warmup_steps));
  return eta_min + (base_lr - eta_min) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

double linear_warmup_lr(double base_lr, int64_t step, int64_t warmup_steps) {
  check_step(step, "linear_warmup_lr");
  TRIFECTA_CHECK(warmup_steps >= 1, "linear_warmup_lr", "the warm-up needs at least 1 step, got ", warmup_steps);
  return base_lr * std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup_steps));
}

double inverse_sqrt_lr(double base_lr, int64_t step, double d_model, int64_t warmup_steps) {
  check_step(step, "inverse_sqrt_lr");
  TRIFECTA_CHECK(d_model > 0.0, "inverse_sqrt_lr", "d_model must be positive, got ", d_model);
  TRIFECTA_CHECK(warmup_steps >= 1, "inverse_sqrt_lr", "the warm-up needs at least 1 step, got ", warmup_steps);
  const double s = static_cast<double>(step + 1), w = static_cast<double>(warmup_steps);
  return base_lr / std::sqrt(d_model) * std::min(1.0 / std::sqrt(s), s / (w * std::sqrt(w)));
}

double LrSchedule::lr(int64_t step, double base_lr) const {
  switch (kind) {
    case LrScheduleKind::Constant: check_step(step, "constant_lr"); return base_lr;
    case LrScheduleKind::StepDecay: return step_decay_lr(base_lr, step, step_size, gamma);
    case LrScheduleKind::Cosine: return cosine_lr(base_lr, step, t_max, eta_min, warmup_steps);
    case LrScheduleKind::LinearWarmup: return linear_warmup_lr(base_lr, step, warmup_steps);
    case LrScheduleKind::InverseSqrt: return inverse_sqrt_lr(base_lr, step, d_model, warmup_steps);
  }
  TRIFECTA_FAIL("LrSchedule", "unknown kind ", static_cast<int>(kind));
}

void LrSchedule::apply(Optimizer& optimizer, int64_t step) const {
  for (ParamGroup& group : optimizer.param_groups()) group.lr = lr(step, group.initial_lr);
}

void LrSchedule::validate() const {
  // Evaluating the first step runs every check the formula makes.
  lr(0, 1.0);
  TRIFECTA_CHECK(kind != LrScheduleKind::StepDecay || (gamma > 0.0 && std::isfinite(gamma)), "LrSchedule",
                 "gamma must be positive, got ", gamma);
  TRIFECTA_CHECK(kind != LrScheduleKind::Cosine || (eta_min >= 0.0 && std::isfinite(eta_min)), "LrSchedule",
                 "eta_min must be non-negative, got ", eta_min);
}

std::string LrSchedule::str() const {
  const auto n = [](double v) { return format_schedule_number(v); };
  switch (kind) {
    case LrScheduleKind::Constant: return "constant";
    case LrScheduleKind::StepDecay: return "step:step_size=" + std::to_string(step_size) + ",gamma=" + n(gamma);
    case LrScheduleKind::Cosine:
      return "cosine:T_max=" + std::to_string(t_max) + ",eta_min=" + n(eta_min) + ",warmup=" + std::to_string(warmup_steps);
    case LrScheduleKind::LinearWarmup: return "warmup:" + std::to_string(warmup_steps);
    case LrScheduleKind::InverseSqrt: return "inverse_sqrt:d_model=" + n(d_model) + ",warmup=" + std::to_string(warmup_steps);
  }
  TRIFECTA_FAIL("LrSchedule", "unknown kind ", static_cast<int>(kind));
}

LrSchedule LrSchedule::parse(const std::string& text) {
  const ScheduleText parts = split_schedule_text(text);
  const auto steps = [](double v) { return static_cast<int64_t>(v); };
  LrSchedule s;
  if (parts.kind == "constant") {
    parse_schedule_arguments(text, parts, {}, kWhat);
  } else if (parts.kind == "step") {
    auto v = parse_schedule_arguments(text, parts, {{"step_size", true, 0, true}, {"gamma", false, 0.1}}, kWhat);
    s.kind = LrScheduleKind::StepDecay;
    s.step_size = steps(v["step_size"]);
    s.gamma = v["gamma"];
  } else if (parts.kind == "cosine") {
    auto v = parse_schedule_arguments(text, parts,
                                      {{"T_max", true, 0, true}, {"eta_min", false, 0.0}, {"warmup", false, 0, true}}, kWhat);
    s.kind = LrScheduleKind::Cosine;
    s.t_max = steps(v["T_max"]);
    s.eta_min = v["eta_min"];
    s.warmup_steps = steps(v["warmup"]);
  } else if (parts.kind == "warmup") {
    auto v = parse_schedule_arguments(text, parts, {{"steps", true, 0, true}}, kWhat);
    s.kind = LrScheduleKind::LinearWarmup;
    s.warmup_steps = steps(v["steps"]);
  } else if (parts.kind == "inverse_sqrt") {
    auto v = parse_schedule_arguments(text, parts, {{"d_model", true, 0}, {"warmup", true, 0, true}}, kWhat);
    s.kind = LrScheduleKind::InverseSqrt;
    s.d_model = v["d_model"];
    s.warmup_steps = steps(v["warmup"]);
  } else {
    TRIFECTA_FAIL(kWhat, "unknown learning-rate schedule '", parts.kind, "' in '", text,
                  "' (expected constant, step, cosine, warmup or inverse_sqrt)");
  }
  try {
    s.validate();
  } catch (const Error& e) {
    TRIFECTA_FAIL(kWhat, "'", text, "': ", e.what());
  }
  return s;
}

}  // namespace trifecta::optim
