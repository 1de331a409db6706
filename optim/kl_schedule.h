// KL-weight (beta) schedules for VAE training: the loss is reconstruction + beta(step) * KL. Starting with a
// small beta lets the decoder learn to use the latent code before the KL term pulls the posterior onto the
// prior, a remedy for posterior collapse (KL vanishing). `step` counts the updates already taken (0 first).
//
//   constant    beta = value
//   monotonic   beta = min(1, step / N): a linear ramp from 0 to 1 over N steps, then 1
//               (Bowman et al., "Generating sentences from a continuous space", CoNLL 2016)
//   cyclical    Fu et al., "Cyclical annealing schedule: a simple approach to mitigating KL vanishing",
//               NAACL 2019: T steps split into M cycles of length T/M; within a cycle, at position
//               tau = (step mod (T/M)) / (T/M) in [0, 1), beta = min(1, tau / R), so beta rises linearly from
//               0 to 1 over the first R fraction of the cycle and stays 1 for the rest. Steps from T on keep
//               beta = 1. With M = 1 this is the monotonic ramp over N = R * T steps.
//
// Text forms (optim/schedule_text.h): "constant:1", "monotonic:5000", "cyclical:T=10000,M=4,R=0.5"
// (M defaults to 4 and R to 0.5, as in the paper).
#pragma once

#include <cstdint>
#include <string>

namespace trifecta::optim {

double monotonic_kl_weight(int64_t step, int64_t warmup_steps);
double cyclical_kl_weight(int64_t step, int64_t total_steps, int64_t cycles = 4, double ratio = 0.5);

enum class KlScheduleKind { Constant, Monotonic, Cyclical };

struct KlSchedule {
  KlScheduleKind kind = KlScheduleKind::Constant;
  double value = 1.0;        // constant
  int64_t warmup_steps = 1;  // monotonic: N
  int64_t total_steps = 1;   // cyclical: T
  int64_t cycles = 4;        // cyclical: M
  double ratio = 0.5;        // cyclical: R, in (0, 1]

  double beta(int64_t step) const;
  // Throws when the settings make no schedule (N < 1, M > T, R outside (0, 1], a negative constant).
  void validate() const;
  // The text form, which parse reads back to the same schedule.
  std::string str() const;
  // Reads a text form; a bad string is an Error naming --kl-schedule, the text and what is wrong.
  static KlSchedule parse(const std::string& text);
};

}  // namespace trifecta::optim
