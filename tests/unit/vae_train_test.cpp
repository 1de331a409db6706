// VAE training end to end in-process: resuming is bit-identical, metrics survive a resume without
// duplicates, flags given with --resume apply or are refused, evaluations leave training unchanged, the
// importance-weighted bound is tighter than the ELBO and the Gaussian decoder learns its scale. (The
// comparison with the PyTorch twin is tests/unit/vae_twin_test.cpp.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "models/common/checkpoint.h"
#include "models/vae/train.h"
#include "tensor/safetensors.h"
#include "tests/harness/expect_error.h"
#include "tests/harness/vae_command.h"

namespace trifecta::vae {
namespace {

namespace fs = std::filesystem;

// Every run here is on the CPU; tests/unit/vae_cuda_step_test.cpp compares a CUDA step with the CPU's.
const auto parse_command = &testing::parse_vae_command;
Flags make_flags(const std::vector<std::string>& args) { return parse_command("train", args); }

fs::path temp_dir(const std::string& name) {
  const fs::path dir = testing::fresh_temp_path("trifecta_vae_train", name);
  fs::create_directories(dir);
  return dir;
}

// A small model on 96 training images (6 batches of 16 to an epoch), without and with a step count.
std::vector<std::string> tiny_model(const fs::path& out) {
  return {"--out", out.string(), "--batch-size", "16", "--train-limit", "96", "--test-limit", "32", "--latent", "4",
          "--hidden", "32", "--checkpoint-every", "3", "--log-every", "1", "--seed", "7", "--kl-schedule", "monotonic:4"};
}
std::vector<std::string> tiny(const fs::path& out, int64_t steps) {
  std::vector<std::string> args = tiny_model(out);
  args.insert(args.end(), {"--steps", std::to_string(steps)});
  return args;
}

Checkpoint checkpoint_in(const fs::path& out, const std::string& kind = "vae-conv-bernoulli") {
  return load_checkpoint((out / "checkpoint.safetensors").string(), kind);
}

// The learning rate the checkpoint's optimizer state carries.
double saved_lr(const Checkpoint& c) {
  for (const auto& [name, t] : c.optimizer)
    if (name == "param_groups.0.lr") return t.item<double>();
  ADD_FAILURE() << "no param_groups.0.lr in the optimizer state";
  return 0;
}

void expect_same_weights(const Checkpoint& a, const Checkpoint& b) {
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_EQ(a.model[i].first, b.model[i].first);
    EXPECT_EQ(a.model[i].second.to_vector<float>(), b.model[i].second.to_vector<float>()) << a.model[i].first;
  }
}

// The steps of metrics.jsonl's training lines (evaluation lines, which a run writes when it ends, are left out).
std::vector<int64_t> logged_steps(const fs::path& path) {
  std::ifstream in(path);
  std::vector<int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const Json j = json::parse(line, path.string());
    if (!j.contains("test_negative_elbo")) steps.push_back(j.at("step").get<int64_t>());
  }
  return steps;
}

TEST(VaeTrain, ResumeIsBitIdenticalToAnUninterruptedRun) {
  // 8 steps straight, against 4 steps, then a resume to 8. With 96 images and batches of 16 an epoch is 6
  // steps, so the resumed run crosses an epoch boundary, and the KL weight is still ramping.
  const fs::path straight = temp_dir("straight"), split = temp_dir("split");
  train(make_flags(tiny(straight, 8)));
  train(make_flags(tiny(split, 4)));
  train(make_flags({"--out", split.string(), "--resume", "--steps", "8"}));
  const Checkpoint a = checkpoint_in(straight), b = checkpoint_in(split);
  EXPECT_EQ(a.position.step, 8);
  EXPECT_EQ(b.position.step, 8);
  EXPECT_EQ(a.position.epoch, b.position.epoch);
  EXPECT_EQ(a.position.batch, b.position.batch);
  EXPECT_EQ(a.position.rng.offset, b.position.rng.offset);
  expect_same_weights(a, b);
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size());
  for (size_t i = 0; i < a.optimizer.size(); ++i)
    EXPECT_EQ(a.optimizer[i].second.to_vector<double>(), b.optimizer[i].second.to_vector<double>()) << a.optimizer[i].first;
  // One metrics line per step in both runs: the resume neither lost nor repeated a step.
  EXPECT_EQ(logged_steps(straight / "metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(logged_steps(split / "metrics.jsonl"), logged_steps(straight / "metrics.jsonl"));
}

// A file that is valid safetensors but a damaged checkpoint: each missing or malformed entry is named.
TEST(VaeCheckpoint, BadMetadataIsAClearError) {
  const fs::path dir = temp_dir("bad_metadata");
  const std::string path = (dir / "checkpoint.safetensors").string();
  const std::map<std::string, std::string> good = {{"format", "trifecta-checkpoint-1"}, {"model_kind", "vae-conv-bernoulli"},
                                                   {"step", "4"}, {"epoch", "0"}, {"batch", "4"}, {"rng_seed", "7"},
                                                   {"rng_offset", "12"}, {"config", "{}"}};
  const NamedTensors tensors = {{"model.w", zeros({2})}};
  save_safetensors(path, tensors, good);
  EXPECT_EQ(load_checkpoint(path, "vae-conv-bernoulli").position.rng.offset, 12u);
  const auto damaged = [&](const std::string& key, const std::optional<std::string>& value) {
    std::map<std::string, std::string> metadata = good;
    if (value) metadata[key] = *value;
    else metadata.erase(key);
    save_safetensors(path, tensors, metadata);
    return [path] { load_checkpoint(path, "vae-conv-bernoulli"); };
  };
  testing::expect_error(damaged("model_kind", std::nullopt), path, "metadata 'model_kind' is missing");
  testing::expect_error(damaged("step", "4x"), path, "metadata 'step' is not an integer", "'4x'");
  testing::expect_error(damaged("epoch", ""), path, "metadata 'epoch' is not an integer");
  testing::expect_error(damaged("batch", "-3"), path, "negative training position", "batch -3");
  testing::expect_error(damaged("config", "{\"lr\":\"1\",\"lr\":\"2\"}"), path, "(config)", "duplicate key");
  testing::expect_error(damaged("rng_seed", "-1"), path, "metadata 'rng_seed' is not an integer", "'-1'");
  testing::expect_error(damaged("rng_offset", "99999999999999999999999"), path, "metadata 'rng_offset'");
  testing::expect_error(damaged("config", std::nullopt), path, "metadata 'config' is missing");
}

// A checkpoint whose recorded flags are damaged: resuming it or reading it is an Error naming the file and
// the flag, not a message about a flag the user never typed.
TEST(VaeCheckpoint, DamagedRecordedFlagsAreAClearError) {
  const fs::path out = temp_dir("bad_config");
  train(make_flags(tiny(out, 2)));
  const std::string path = (out / "checkpoint.safetensors").string();
  const TensorFile good = load_safetensors(path);
  const auto with_config = [&](const std::string& config) {
    std::map<std::string, std::string> metadata = good.metadata;
    metadata["config"] = config;
    save_safetensors(path, good.tensors, metadata);
  };
  Json config = json::parse(good.metadata.at("config"), path);
  config["latent"] = "four";
  with_config(json::dump(config, path));
  testing::expect_error([&] { train(make_flags({"--out", out.string(), "--resume", "--steps", "4"})); }, path,
                        "recorded flag 'latent'", "expects an integer", "'four'");
  testing::expect_error([&] { evaluate_checkpoint(parse_command("eval", {"--out", out.string()})); }, path,
                        "recorded flag 'latent'");
  with_config("[1, 2]");
  testing::expect_error([&] { train(make_flags({"--out", out.string(), "--resume", "--steps", "4"})); }, path,
                        "recorded flags");
}

TEST(VaeTrain, ResumeDropsMetricsWrittenAfterTheLastCheckpoint) {
  const fs::path out = temp_dir("killed");
  train(make_flags(tiny(out, 3)));  // checkpoint at step 3
  // Simulate a run killed at step 5, after its last checkpoint (step 3): lines for steps 4-5 and a torn line.
  std::ofstream(out / "metrics.jsonl", std::ios::app) << "{\"step\":4}\n{\"step\":5}\n{\"st";
  train(make_flags({"--out", out.string(), "--resume", "--steps", "6"}));
  EXPECT_EQ(logged_steps(out / "metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

// A learning rate given with --resume is used from the resumed step on and recorded; the optimizer state
// used to bring back the old one while the checkpoint's flags claimed the new one.
TEST(VaeTrain, ResumeAppliesAndRecordsANewLearningRate) {
  const fs::path out = temp_dir("new_lr");
  train(make_flags(tiny(out, 4)));
  EXPECT_DOUBLE_EQ(saved_lr(checkpoint_in(out)), 1e-3);
  train(make_flags({"--out", out.string(), "--resume", "--steps", "6", "--lr", "0.0005"}));
  Checkpoint c = checkpoint_in(out);
  EXPECT_DOUBLE_EQ(saved_lr(c), 5e-4);
  EXPECT_DOUBLE_EQ(c.config.at("lr").get<double>(), 5e-4);
  // A later resume without --lr continues with the recorded one.
  train(make_flags({"--out", out.string(), "--resume", "--steps", "8"}));
  c = checkpoint_in(out);
  EXPECT_EQ(c.position.step, 8);
  EXPECT_DOUBLE_EQ(saved_lr(c), 5e-4);
}

// --steps given when resuming a run trained by --epochs sets where it ends (it used to be ignored).
TEST(VaeTrain, StepsExtendsARunTrainedByEpochs) {
  const fs::path out = temp_dir("epochs");
  std::vector<std::string> args = tiny_model(out);
  args.insert(args.end(), {"--epochs", "1"});
  train(make_flags(args));
  EXPECT_EQ(checkpoint_in(out).position.step, 6);
  train(make_flags({"--out", out.string(), "--resume", "--steps", "9"}));
  const Checkpoint c = checkpoint_in(out);
  EXPECT_EQ(c.position.step, 9);
  EXPECT_EQ(c.position.epoch, 1);
  EXPECT_EQ(c.position.batch, 3);
  EXPECT_EQ(c.config.at("epochs").get<int64_t>(), 0);
  EXPECT_EQ(c.config.at("steps").get<int64_t>(), 9);
  testing::expect_error([&] { train(make_flags({"--out", out.string(), "--resume", "--steps", "9"})); },
                        "is at step 9 and this run ends at step 9", "pass a larger --steps");
  args.insert(args.end(), {"--steps", "4", "--overwrite"});
  testing::expect_error([&] { train(make_flags(args)); }, "give --steps or --epochs, not both");
}

// Evaluations run every --eval-every steps and after the last, each a metrics line at its step, and draw
// their noise from a generator of their own: a run that evaluates often trains exactly as one that does not.
TEST(VaeTrain, EvaluationsRunOnScheduleAndLeaveTrainingUnchanged) {
  const fs::path often = temp_dir("eval_often"), never = temp_dir("eval_never");
  std::vector<std::string> args = tiny(often, 7);
  args.insert(args.end(), {"--eval-every", "3"});
  train(make_flags(args));
  args = tiny(never, 7);
  args.insert(args.end(), {"--eval-every", "0"});
  train(make_flags(args));
  const auto evaluated_steps = [](const fs::path& path) {
    std::ifstream in(path);
    std::vector<int64_t> steps;
    for (std::string line; std::getline(in, line);) {
      const Json j = json::parse(line, path.string());
      if (j.contains("test_negative_elbo")) steps.push_back(j.at("step").get<int64_t>());
    }
    return steps;
  };
  EXPECT_EQ(evaluated_steps(often / "metrics.jsonl"), (std::vector<int64_t>{3, 6, 7}));
  EXPECT_EQ(evaluated_steps(never / "metrics.jsonl"), (std::vector<int64_t>{7}));
  const Checkpoint a = checkpoint_in(often), b = checkpoint_in(never);
  EXPECT_EQ(a.position.rng.offset, b.position.rng.offset);
  expect_same_weights(a, b);
}

TEST(VaeTrain, ImportanceWeightedBoundIsTighterThanTheElbo) {
  const fs::path out = temp_dir("iwae");
  train(make_flags(tiny(out, 12)));
  Flags flags = parse_command("eval", {"--out", out.string(), "--test-limit", "64", "--iwae-k", "32"});
  const Evaluation e = evaluate_checkpoint(flags);
  EXPECT_EQ(e.images, 64);
  EXPECT_NEAR(e.negative_elbo, e.reconstruction + e.kl, 1e-3 * std::abs(e.negative_elbo));
  EXPECT_LT(e.iwae_nll, e.negative_elbo);
  EXPECT_GT(e.kl, 0.0);
}

TEST(VaeTrain, GaussianDecoderLearnsItsScale) {
  const fs::path out = temp_dir("gaussian");
  std::vector<std::string> args = tiny(out, 12);
  args.insert(args.end(), {"--likelihood", "gaussian", "--architecture", "mlp"});
  train(make_flags(args));
  const Checkpoint c = checkpoint_in(out, "vae-mlp-gaussian");
  bool found = false;
  for (const auto& [name, t] : c.model) {
    if (name != "log_gamma") continue;
    found = true;
    // gamma starts at 1; pixel errors are far smaller, so the likelihood pulls log gamma down.
    EXPECT_LT(t.item<float>(), 0.0f);
  }
  EXPECT_TRUE(found) << "no log_gamma parameter in the checkpoint";
}

}  // namespace
}  // namespace trifecta::vae
