// The training skeleton every model binary shares (after Marian's Scheduler and llm.c's loop). A model hands
// it what a checkpoint must hold (its module, its optimizers, its noise generator), a step function and an
// evaluation; the skeleton runs the loop and owns the cadence and the bookkeeping:
//
//   - the length (--steps, or --epochs over the loader) and the data position (epoch, batch), so that a
//     resumed run takes exactly the batches the uninterrupted one would;
//   - a checkpoint every --checkpoint-every steps and at the end, written atomically, with the flags the
//     run used, and exact resume from it (with --resume; models/common/run_folder.h);
//   - init.safetensors, the initial weights, so a twin implementation can start where the run did;
//   - metrics.jsonl: the step's values every --log-every steps, the evaluation every --eval-every steps and
//     at the end (each line carries "step"; scripts/plot.py draws them);
//   - the progress line;
//   - the divergence check: a NaN or infinite value (of a step or an evaluation), or parameters gone
//     non-finite before a checkpoint, stop the run with an Error naming the step and the last finite
//     checkpoint, which is never overwritten by a diverged state.
//
// The VAE (models/vae/train.cpp), in short:
//
//   RunFolder folder(flags, {"samples.png", "reconstructions.png"});  // lock, --resume/--overwrite rules
//   ... the model, its optimizer and the data loader, from flags ...
//   Trainer trainer(folder, flags, {config.kind(), &model, {{"", &optimizer}}, &noise},
//                   {.batches_per_epoch = loader.batches_per_epoch()});
//   trainer.evaluate_with([&] { return Json{{"test_negative_elbo", ...}}; });
//   trainer.run(loader, [&](const Batch& batch) { ...; return StepReport{batch_size, {{"loss", loss}}}; });
//
// The binaries to come fit the same shape. A GAN hands over one module holding its generator and
// discriminator and two named optimizers ({"generator", &g}, {"discriminator", &d}: saved as
// optimizer.generator.* and optimizer.discriminator.* in one checkpoint), and takes its D step then its G
// step inside one step function. A translation model validates by BLEU through evaluate_with every
// --eval-every steps; averaging its last K checkpoints reads the weights its evaluation saves beside them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/common/checkpoint.h"
#include "models/common/flags.h"
#include "models/common/metrics.h"
#include "models/common/progress.h"
#include "models/common/run_folder.h"
#include "nn/module.h"
#include "optim/optimizer.h"
#include "tensor/random.h"

namespace trifecta {

// What a checkpoint holds besides the position: one module (a model of several networks is one module with
// them as children), its optimizers (a lone one may have an empty name) and the generator every random
// draw of training comes from (sampling noise, dropout).
struct TrainingState {
  std::string model_kind;  // recorded; a checkpoint of another kind is refused
  nn::Module* model = nullptr;
  std::vector<std::pair<std::string, optim::Optimizer*>> optimizers;
  Generator* noise = nullptr;
};

// What one step reports: how many examples it consumed (the throughput) and named values, every one of
// which must be finite (the divergence check) and goes to metrics.jsonl on logging steps.
struct StepReport {
  int64_t items = 0;
  std::vector<std::pair<std::string, double>> values;
};

// A model's defaults for the skeleton's flags.
struct TrainingDefaults {
  std::string out;  // the run folder, e.g. "runs/vae"
  int64_t steps = 1000;
  int64_t checkpoint_every = 500;
  int64_t log_every = 20;
  int64_t eval_every = 1000;
};

struct TrainerOptions {
  int64_t batches_per_epoch = 0;                  // of the loader run() is given
  std::string unit = "images";                    // what StepReport::items counts: "<unit>_per_second"
  std::vector<std::string> shown = {"loss"};      // the values on the progress line
};

class Trainer {
 public:
  // Declares the flags the skeleton and RunFolder read: --out, --steps, --epochs, --seed, --checkpoint-every,
  // --log-every, --eval-every, --resume, --overwrite.
  static void add_flags(Flags& flags, const TrainingDefaults& defaults);

  // Restores the checkpoint when the folder is resuming (an Error when it is already at or past the last
  // step), or writes init.safetensors. flags: the train command's, after RunFolder has resolved them.
  Trainer(const RunFolder& folder, const Flags& flags, TrainingState state, TrainerOptions options);

  // The evaluation, run every --eval-every steps and after the last step with the model in eval mode and
  // gradients off; it returns a JSON object of metrics, written to metrics.jsonl with the step.
  void evaluate_with(std::function<Json()> evaluation) { evaluation_ = std::move(evaluation); }

  // Trains to the last step: loader.epoch(epoch, first_batch) must yield the batches of an epoch from
  // first_batch on (data/loader.h), and step(batch) take one optimizer step on a batch and report it.
  template <class Loader, class StepFunction>
  void run(const Loader& loader, StepFunction&& step) {
    while (position_.step < total_steps_) {
      for (const auto& batch : loader.epoch(position_.epoch, position_.batch))
        if (!after_step(step(batch))) break;
      if (position_.step < total_steps_) next_epoch();
    }
    progress_->finish();
  }

  const TrainingPosition& position() const { return position_; }  // position().step: updates taken so far
  int64_t total_steps() const { return total_steps_; }
  const Json& last_evaluation() const { return last_evaluation_; }

 private:
  using Clock = std::chrono::steady_clock;

  void restore();
  // Bookkeeping after a step; false once the run has taken its last step.
  bool after_step(const StepReport& report);
  void next_epoch();
  void log_step(const StepReport& report);
  void evaluate();
  void save();
  NamedTensors optimizer_state() const;
  [[noreturn]] void diverged(const std::string& what, int64_t step) const;
  std::string last_finite_checkpoint() const;

  const RunFolder& folder_;
  Flags flags_;  // recorded in every checkpoint
  TrainingState state_;
  TrainerOptions options_;
  int64_t total_steps_ = 0, checkpoint_every_ = 0, log_every_ = 0, eval_every_ = 0;
  TrainingPosition position_;
  int64_t last_checkpoint_step_ = -1;  // -1: none written or restored
  std::function<Json()> evaluation_;
  Json last_evaluation_;
  std::optional<MetricsLog> metrics_;
  std::optional<ProgressBar> progress_;
  // Throughput over a logging window, leaving out the time spent evaluating and saving.
  Clock::time_point start_, window_start_;
  int64_t window_items_ = 0;
  double window_paused_seconds_ = 0;
};

}  // namespace trifecta
