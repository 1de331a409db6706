// VAE training end to end in-process: resuming is bit-identical, metrics survive a resume without
// duplicates, the importance-weighted bound is tighter than the ELBO, the Gaussian decoder learns its scale,
// and training on a Fashion-MNIST subset comes within 1 nat of the PyTorch twin's test negative ELBO.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include "models/common/checkpoint.h"
#include "models/vae/train.h"
#include "tensor/safetensors.h"
#include "tests/harness/expect_error.h"

namespace trifecta::vae {
namespace {

namespace fs = std::filesystem;

// Every run here is on the CPU (--device cpu), where the thresholds and the bit-identical resume were
// established; tests/unit/vae_cuda_step_test.cpp compares a CUDA step with the CPU's.
Flags make_flags(const std::vector<std::string>& args) {
  Flags flags("vae train", "test");
  add_flags(flags);
  std::vector<std::string> storage = {"vae", "--device", "cpu"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : storage) argv.push_back(s.data());
  EXPECT_TRUE(flags.parse(static_cast<int>(argv.size()), argv.data(), 1));
  return flags;
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_vae_train_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> tiny(const fs::path& out, int64_t steps) {
  return {"--out", out.string(), "--steps", std::to_string(steps), "--batch-size", "16", "--train-limit", "96",
          "--test-limit", "32", "--latent", "4", "--hidden", "32", "--checkpoint-every", "3", "--log-every", "1",
          "--seed", "7", "--kl-schedule", "monotonic:4"};
}

// The steps of metrics.jsonl's training lines (evaluation lines, which a run writes when it ends, are left out).
std::vector<int64_t> logged_steps(const fs::path& path) {
  std::ifstream in(path);
  std::vector<int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const Json j = Json::parse(line, path.string());
    if (!j.contains("test_negative_elbo")) steps.push_back(j.at("step", "metrics").as_int("metrics"));
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
  const Checkpoint a = load_checkpoint((straight / "checkpoint.safetensors").string(), "vae-conv-bernoulli");
  const Checkpoint b = load_checkpoint((split / "checkpoint.safetensors").string(), "vae-conv-bernoulli");
  EXPECT_EQ(a.position.step, 8);
  EXPECT_EQ(b.position.step, 8);
  EXPECT_EQ(a.position.epoch, b.position.epoch);
  EXPECT_EQ(a.position.batch, b.position.batch);
  EXPECT_EQ(a.position.rng.offset, b.position.rng.offset);
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_EQ(a.model[i].first, b.model[i].first);
    EXPECT_EQ(a.model[i].second.to_vector<float>(), b.model[i].second.to_vector<float>()) << a.model[i].first;
  }
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
  testing::expect_error(damaged("rng_seed", "-1"), path, "metadata 'rng_seed' is not an integer", "'-1'");
  testing::expect_error(damaged("rng_offset", "99999999999999999999999"), path, "metadata 'rng_offset'");
  testing::expect_error(damaged("config", std::nullopt), path, "metadata 'config' is missing");
}

TEST(VaeTrain, ResumeDropsMetricsWrittenAfterTheLastCheckpoint) {
  const fs::path out = temp_dir("killed");
  train(make_flags(tiny(out, 3)));  // checkpoint at step 3
  // Simulate a run killed at step 5, after its last checkpoint (step 3): lines for steps 4-5 and a torn line.
  std::ofstream(out / "metrics.jsonl", std::ios::app) << "{\"step\":4}\n{\"step\":5}\n{\"st";
  train(make_flags({"--out", out.string(), "--resume", "--steps", "6"}));
  EXPECT_EQ(logged_steps(out / "metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(VaeTrain, ImportanceWeightedBoundIsTighterThanTheElbo) {
  const fs::path out = temp_dir("iwae");
  train(make_flags(tiny(out, 12)));
  Flags flags = make_flags({"--out", out.string(), "--test-limit", "64", "--iwae-k", "32"});
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
  const Checkpoint c = load_checkpoint((out / "checkpoint.safetensors").string(), "vae-mlp-gaussian");
  bool found = false;
  for (const auto& [name, t] : c.model) {
    if (name != "log_gamma") continue;
    found = true;
    // gamma starts at 1; pixel errors are far smaller, so the likelihood pulls log gamma down.
    EXPECT_LT(t.item<float>(), 0.0f);
  }
  EXPECT_TRUE(found) << "no log_gamma parameter in the checkpoint";
}

// The threshold comes from the PyTorch twin trained from the same initial weights on the same batches with the
// same noise (Debian's torch 1.13, 2026-11-21):
//   ./build/bin/vae train --steps 150 --batch-size 64 --train-limit 2048 --test-limit 1000 --seed 3 --out /tmp/t
//   /usr/bin/python3 bench/reference/vae_torch.py --init /tmp/t/init.safetensors --steps 150 --batch-size 64
//       --train-limit 2048 --test-limit 1000 --seed 3
// which reached 297.28 nats; the issue asks trifecta to be within 1 nat of its twin.
constexpr double kTwinTestNegativeElbo = 297.28;

TEST(VaeTrain, SubsetTrainingReachesThePyTorchTwinsElbo) {
  const fs::path out = temp_dir("subset");
  const double nelbo = train(make_flags({"--out", out.string(), "--steps", "150", "--batch-size", "64",
                                         "--train-limit", "2048", "--test-limit", "1000", "--seed", "3",
                                         "--checkpoint-every", "0"}));
  EXPECT_LT(nelbo, kTwinTestNegativeElbo + 1.0);
  EXPECT_GT(nelbo, 200.0) << "implausibly low for 150 steps: is the likelihood summed over pixels?";
}

}  // namespace
}  // namespace trifecta::vae
