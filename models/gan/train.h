// Training, sampling and scoring for the gan binary (models/gan/main.cpp). Kept apart from the CLI so tests
// can drive a run directly.
#pragma once

#include <memory>

#include "models/common/command_line.h"
#include "models/gan/fid_scorer.h"
#include "models/gan/gan.h"

namespace trifecta::gan {

// The gan commands (train, sample, eval), each with its own flags.
CommandLine command_line();

// train: trains from scratch or (--resume) from <out>/checkpoint.safetensors, writing metrics.jsonl (losses,
// mean scores, FID-F and KID-F), checkpoints and samples.png to --out; returns the last evaluation's FID-F.
double train(const Flags& flags);

// The model of the checkpoint in --out, on --device, in eval mode, with the architecture its run recorded;
// with weights non-empty, the state dict in that file (e.g. <out>/init.safetensors) replaces the checkpoint's.
std::unique_ptr<Gan> load_model(const Flags& flags, const std::string& weights = "");

// eval: FID-F and KID-F of --count samples (the moving average's when the run kept one) against the test
// images; --weights scores another state dict of the same run, such as its init.safetensors.
SampleScores evaluate_checkpoint(const Flags& flags);
// sample: <out>/samples.{png,safetensors,npy} (--count, --format).
void sample_from_checkpoint(const Flags& flags);

}  // namespace trifecta::gan
