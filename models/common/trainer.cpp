// The training skeleton's bookkeeping: restore and save, the per-step cadence, logging and the divergence check.
#include "models/common/trainer.h"

#include <cmath>
#include <cstdio>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

namespace {

double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string nonfinite_text(double value) { return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf"; }

}  // namespace

void Trainer::add_flags(Flags& flags, const TrainingDefaults& defaults) {
  using OnResume = Flags::OnResume;
  flags.add_string("out", defaults.out, "the run's folder: checkpoint, metrics.jsonl, images", OnResume::Invocation);
  flags.add_int("steps", defaults.steps, "optimizer steps (with --resume: the step to continue to)");
  flags.add_int("epochs", 0, "epochs over the training set instead of --steps (0: use --steps)");
  flags.add_int("seed", 0, "seed of the initial weights, the data order and the noise", OnResume::Keep);
  flags.add_int("checkpoint-every", defaults.checkpoint_every, "steps between checkpoints (0: only at the end)");
  flags.add_int("log-every", defaults.log_every, "steps between metrics.jsonl lines");
  flags.add_int("eval-every", defaults.eval_every, "steps between evaluations (0: only at the end)");
  flags.add_bool("resume", false, "continue the run in --out from its checkpoint", OnResume::Invocation);
  flags.add_bool("overwrite", false, "delete the run in --out and train a new one", OnResume::Invocation);
}

Trainer::Trainer(const RunFolder& folder, const Flags& flags, TrainingState state, TrainerOptions options)
    : folder_(folder), flags_(flags), state_(std::move(state)), options_(std::move(options)) {
  const std::string& command = flags_.command();
  TRIFECTA_CHECK(state_.model != nullptr && state_.noise != nullptr && !state_.optimizers.empty(), command,
                 "the training state needs a model, an optimizer and a noise generator");
  for (const auto& [name, optimizer] : state_.optimizers)
    TRIFECTA_CHECK(optimizer != nullptr && (!name.empty() || state_.optimizers.size() == 1), command,
                   "with several optimizers each needs a name (its prefix in the checkpoint)");
  TRIFECTA_CHECK(options_.batches_per_epoch > 0, command, "the training data has no complete batch");
  checkpoint_every_ = flags_.get_int("checkpoint-every");
  log_every_ = flags_.get_int("log-every");
  eval_every_ = flags_.get_int("eval-every");
  TRIFECTA_CHECK(checkpoint_every_ >= 0, command + " --checkpoint-every", "must be >= 0, got ", checkpoint_every_);
  TRIFECTA_CHECK(log_every_ > 0, command + " --log-every", "must be positive, got ", log_every_);
  TRIFECTA_CHECK(eval_every_ >= 0, command + " --eval-every", "must be >= 0, got ", eval_every_);

  // --steps given now replaces an --epochs the run recorded (and the record says so from the next checkpoint).
  if (flags_.was_set("steps")) {
    TRIFECTA_CHECK(!flags_.was_set("epochs") || flags_.get_int("epochs") == 0, command,
                   "give --steps or --epochs, not both");
    flags_.set("epochs", "0");
  }
  const int64_t epochs = flags_.get_int("epochs");
  TRIFECTA_CHECK(epochs >= 0, command + " --epochs", "must be >= 0, got ", epochs);
  total_steps_ = epochs > 0 ? epochs * options_.batches_per_epoch : flags_.get_int("steps");
  TRIFECTA_CHECK(total_steps_ > 0, command + " --steps", "must be positive, got ", total_steps_);

  if (folder_.resuming()) {
    restore();
    TRIFECTA_CHECK(position_.step < total_steps_, command, "the checkpoint in ", folder_.path(), " is at step ",
                   position_.step, " and this run ends at step ", total_steps_,
                   ": nothing to train (pass a larger --steps or --epochs)");
  } else {
    save_safetensors(folder_.file(RunFolder::kInitialWeights), state_.model->state_dict());
  }
  metrics_.emplace(folder_.file(RunFolder::kMetrics), folder_.resuming() ? position_.step : -1);
  progress_.emplace(position_.step, total_steps_, options_.unit);
  start_ = window_start_ = Clock::now();
}

void Trainer::restore() {
  const std::string path = folder_.checkpoint_path();
  const Checkpoint checkpoint = load_checkpoint(path, state_.model_kind);
  state_.model->load_state_dict(checkpoint.model);
  size_t restored = 0;
  for (const auto& [name, optimizer] : state_.optimizers) {
    NamedTensors own;
    for (const auto& [key, tensor] : checkpoint.optimizer)
      if (name.empty()) own.emplace_back(key, tensor);
      else if (key.rfind(name + ".", 0) == 0) own.emplace_back(key.substr(name.size() + 1), tensor);
    optimizer->load_state_dict(own);
    restored += own.size();
  }
  TRIFECTA_CHECK(restored == checkpoint.optimizer.size(), path, "holds optimizer state that belongs to none of ",
                 "this model's optimizers");
  state_.noise->set_state(checkpoint.position.rng);
  position_ = checkpoint.position;
  last_checkpoint_step_ = position_.step;
  std::fprintf(stderr, "resuming %s at step %lld\n", path.c_str(), static_cast<long long>(position_.step));
}

bool Trainer::after_step(const StepReport& report) {
  const int64_t step = position_.step + 1;
  std::vector<std::pair<std::string, double>> shown;
  for (const std::string& name : options_.shown)
    for (const auto& [key, value] : report.values)
      if (key == name) shown.emplace_back(key, value);
  for (const auto& [name, value] : report.values) {
    if (std::isfinite(value)) continue;
    progress_->update(step, report.items, shown, /*force=*/true);
    progress_->finish();
    diverged(name + " is " + nonfinite_text(value), step);
  }
  position_.step = step;
  ++position_.batch;
  window_items_ += report.items;
  progress_->update(step, report.items, shown);
  const bool last = step == total_steps_;
  if (step % log_every_ == 0 || last) log_step(report);
  if ((eval_every_ > 0 && step % eval_every_ == 0) || last) evaluate();
  if ((checkpoint_every_ > 0 && step % checkpoint_every_ == 0) || last) save();
  return !last;
}

void Trainer::next_epoch() {
  ++position_.epoch;
  position_.batch = 0;
}

void Trainer::log_step(const StepReport& report) {
  const Clock::time_point now = Clock::now();
  const double seconds = seconds_between(window_start_, now) - window_paused_seconds_;
  Json line{{"step", position_.step}, {"epoch", position_.epoch}};
  for (const auto& [name, value] : report.values) line[name] = value;
  line[options_.unit + "_per_second"] = seconds > 0 ? static_cast<double>(window_items_) / seconds : 0.0;
  line["elapsed_seconds"] = seconds_between(start_, now);
  metrics_->write(line);
  window_start_ = now;
  window_items_ = 0;
  window_paused_seconds_ = 0;
}

void Trainer::evaluate() {
  if (!evaluation_) return;
  const Clock::time_point begin = Clock::now();
  const bool was_training = state_.model->is_training();
  state_.model->eval();
  Json metrics;
  {
    NoGradGuard no_grad;
    metrics = evaluation_();
  }
  state_.model->train(was_training);
  Json line = Json::object();
  for (const auto& [name, value] : json::as_object(metrics, flags_.command() + " evaluation")) {
    if (value.is_number_float() && !std::isfinite(value.get<double>()))
      diverged("the evaluation's " + name + " is " + nonfinite_text(value.get<double>()), position_.step);
    line[name] = value;
  }
  line["step"] = position_.step;
  metrics_->write(line);
  last_evaluation_ = metrics;
  window_paused_seconds_ += seconds_between(begin, Clock::now());
}

void Trainer::save() {
  const Clock::time_point begin = Clock::now();
  // A diverged update leaves parameters NaN while the loss of its step was still finite: check before the
  // last finite checkpoint is replaced by it.
  for (const auto& [name, tensor] : state_.model->state_dict()) {
    if (!is_floating(tensor.dtype())) continue;
    const int64_t bad = count_nonfinite(tensor);
    if (bad > 0)
      diverged("model tensor '" + name + "' holds " + std::to_string(bad) + " NaN or infinite values", position_.step);
  }
  position_.rng = state_.noise->state();
  save_checkpoint(folder_.checkpoint_path(),
                  {state_.model_kind, state_.model->state_dict(), optimizer_state(), position_, flags_.to_json()});
  last_checkpoint_step_ = position_.step;
  window_paused_seconds_ += seconds_between(begin, Clock::now());
}

NamedTensors Trainer::optimizer_state() const {
  NamedTensors all;
  for (const auto& [name, optimizer] : state_.optimizers)
    for (const auto& [key, tensor] : optimizer->state_dict()) all.emplace_back(name.empty() ? key : name + "." + key, tensor);
  return all;
}

std::string Trainer::last_finite_checkpoint() const {
  if (last_checkpoint_step_ < 0) return "none written yet";
  return folder_.checkpoint_path() + ", step " + std::to_string(last_checkpoint_step_);
}

void Trainer::diverged(const std::string& what, int64_t step) const {
  TRIFECTA_FAIL(flags_.command(), what, " at step ", step, " (last finite checkpoint: ", last_finite_checkpoint(),
                "); rerun with TRIFECTA_ANOMALY=1 to find the op");
}

}  // namespace trifecta
