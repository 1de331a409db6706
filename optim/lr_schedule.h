// Learning-rate schedules as pure functions of the step, and LrSchedule, which holds one schedule's settings,
// reads them from a command-line string and applies them to an optimizer. `step` counts the updates already
// taken (0 for the first), like the last_epoch of PyTorch's schedulers stepped once per update; each
// function returns the learning rate for that update.
//
//   constant       base
//   step decay     base * gamma^floor(step / step_size)                                  (PyTorch's StepLR)
//   cosine         eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2 after an optional linear warm-up
//                  of W steps, t = step - W and T = T_max - W; held at eta_min once t >= T. Without warm-up
//                  this is PyTorch's CosineAnnealingLR (SGDR of Loshchilov & Hutter, ICLR 2017, without
//                  restarts) up to T_max; PyTorch's keeps following the cosine back up after it.
//   linear warm-up base * min(1, (step + 1) / W): the first update already moves, at base / W
//   inverse sqrt   base * d^-0.5 * min(s^-0.5, s * W^-1.5), s = step + 1: Vaswani et al., "Attention is all
//                  you need" (NeurIPS 2017), eq. 3, with base as an extra factor (1 reproduces the paper);
//                  linear warm-up over W steps, then decay with the inverse square root of the step.
//
// Text forms (optim/schedule_text.h): "constant", "step:step_size=1000,gamma=0.5",
// "cosine:T_max=10000,eta_min=1e-5,warmup=500", "warmup:500", "inverse_sqrt:d_model=512,warmup=4000".
#pragma once

#include <cstdint>
#include <string>

namespace trifecta::optim {

class Optimizer;

double step_decay_lr(double base_lr, int64_t step, int64_t step_size, double gamma);
double cosine_lr(double base_lr, int64_t step, int64_t t_max, double eta_min = 0.0, int64_t warmup_steps = 0);
double linear_warmup_lr(double base_lr, int64_t step, int64_t warmup_steps);
double inverse_sqrt_lr(double base_lr, int64_t step, double d_model, int64_t warmup_steps);

enum class LrScheduleKind { Constant, StepDecay, Cosine, LinearWarmup, InverseSqrt };

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::Constant;
  int64_t step_size = 1;     // step decay
  double gamma = 0.1;        // step decay
  int64_t t_max = 1;         // cosine
  double eta_min = 0.0;      // cosine
  int64_t warmup_steps = 0;  // cosine, linear warm-up, inverse sqrt
  double d_model = 1.0;      // inverse sqrt

  // The learning rate for update `step` of a group that started at base_lr.
  double lr(int64_t step, double base_lr) const;
  // Sets every parameter group's lr to lr(step, group.initial_lr).
  void apply(Optimizer& optimizer, int64_t step) const;
  // Throws when the settings make no schedule (step_size < 1, T_max <= warm-up, ...).
  void validate() const;
  // The text form, which parse reads back to the same schedule.
  std::string str() const;
  // Reads a text form; a bad string is an Error naming --lr-schedule, the text and what is wrong.
  static LrSchedule parse(const std::string& text);
};

}  // namespace trifecta::optim
