// The Two-Stage VAE as runs of the vae binary (Dai & Wipf, ICLR 2019): a first-stage run is an ordinary VAE
// run (the paper's network is --architecture infogan --likelihood gaussian); `vae train --stage 2 --from
// <stage-1 run>` trains the second stage (models/vae/second_stage.h) on that run's latent codes, and sample,
// eval and reconstruct on the stage-2 folder go through both.
//
// The stage-2 run records --from and the SHA-256 of the stage-1 checkpoint it trained on (--from-sha256);
// every later use (a resume, sample, eval) refuses a stage-1 checkpoint that has changed since, because the
// second stage models the codes of that exact encoder.
#pragma once

#include <memory>
#include <string>

#include "models/common/run_folder.h"
#include "models/vae/second_stage.h"
#include "models/vae/train.h"

namespace trifecta::vae {

// A loaded run: its VAE and, for a stage-2 run, the second stage.
struct TwoStage {
  std::unique_ptr<Vae> first;
  std::unique_ptr<SecondStageVae> second;  // null for a first-stage run
  std::string kind() const { return second ? SecondStageVae::kKind : first->config().kind(); }
};

// --stage, --from, --from-sha256, --stage2-hidden.
void add_second_stage_flags(Flags& flags);
// Checks that --stage is 1 or 2 and --from is given exactly with stage 2; returns the stage.
int64_t check_stage_flags(const Flags& flags);

// Trains the second stage into folder; returns the final test negative ELBO of the test images' codes.
double train_second_stage(Flags& flags, const RunFolder& folder);

// Both stages of a stage-2 checkpoint read from path, on device, in eval mode.
TwoStage load_two_stage(const Checkpoint& checkpoint, const std::string& path, Device device);

// The second stage's negative ELBO (and, for k > 0, its importance-weighted NLL) of the codes z = mu +
// sigma * eps the first stage gives images, in nats per code, with noise from a generator seeded with seed.
Evaluation evaluate_second_stage(Vae& first, SecondStageVae& second, const Tensor& images, uint64_t seed, int64_t k);

}  // namespace trifecta::vae
