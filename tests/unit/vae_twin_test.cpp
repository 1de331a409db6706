// trifecta's VAE against its PyTorch twin, both run at test time by CTest fixtures with every setting pinned
// (tests/CMakeLists.txt, TRIFECTA_VAE_TWIN_FLAGS): `vae train` writes its run into TRIFECTA_VAE_TWIN_DIR,
// then bench/reference/vae_torch.py trains the same model from that run's init.safetensors on the same
// batches with the same noise and writes torch.json there. This test checks the two really ran the same
// experiment (the same flags, the same first losses) and that their test negative ELBOs agree within 1 nat.
// Two more pairs run the same way: the Two-Stage VAE's first stage (the infogan network with batch norm and
// the learned-gamma Gaussian likelihood, TRIFECTA_VAE_INFOGAN_TWIN_DIR), its second stage trained on that
// run's codes (TRIFECTA_VAE_STAGE2_TWIN_DIR), WAE-MMD (TRIFECTA_WAE_TWIN_DIR) and WAE-GAN
// (TRIFECTA_WAE_GAN_TWIN_DIR).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/common/checkpoint.h"
#include "tensor/json.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

struct Twins {
  fs::path run;
  Json trifecta_flags;             // recorded in trifecta's checkpoint
  std::vector<double> trifecta_losses;
  double trifecta_negative_elbo = NAN;
  Json trifecta_evaluation;  // a WAE's last evaluation line
  Json torch;                      // vae_torch.py's result line
};

Twins read_twins(const char* variable = "TRIFECTA_VAE_TWIN_DIR", const std::string& kind = "vae-conv-bernoulli") {
  const char* dir = std::getenv(variable);
  EXPECT_NE(dir, nullptr) << variable << " is not set; run through ctest";
  Twins twins;
  if (!dir) return twins;
  const fs::path run = twins.run = dir;
  twins.trifecta_flags = load_checkpoint((run / "checkpoint.safetensors").string(), kind).config;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string text; std::getline(metrics, text);) {
    const Json line = json::parse(text, "metrics.jsonl");
    if (line.contains("loss")) twins.trifecta_losses.push_back(line.at("loss").get<double>());
    if (line.contains("test_negative_elbo")) twins.trifecta_negative_elbo = line.at("test_negative_elbo").get<double>();
    if (line.contains("test_reconstruction") && line.contains("test_mmd")) twins.trifecta_evaluation = line;
  }
  std::ifstream torch(run / "torch.json");
  std::string text((std::istreambuf_iterator<char>(torch)), std::istreambuf_iterator<char>());
  twins.torch = json::parse(text, (run / "torch.json").string());
  return twins;
}

// The same flags, initial weights and first losses on both sides: the first `steps_compared` steps agree to
// float rounding (they drift apart only slowly, as rounding differences compound through Adam).
void expect_same_experiment(const Twins& twins, size_t steps_compared, const std::vector<const char*>& more_flags = {}) {
  const Json& torch_flags = twins.torch.at("flags");
  std::vector<const char*> flags = {"architecture", "likelihood", "latent", "hidden", "lr", "kl-schedule", "seed",
                                    "steps", "batch-size", "train-limit", "test-limit", "device"};
  flags.insert(flags.end(), more_flags.begin(), more_flags.end());
  for (const char* flag : flags)
    EXPECT_EQ(twins.trifecta_flags.at(flag), torch_flags.at(flag)) << "--" << flag << " differs";
  EXPECT_EQ(torch_flags.at("device"), "cpu");
  EXPECT_EQ(fs::path(torch_flags.at("init").get<std::string>()), twins.run / "init.safetensors");
  const std::vector<double> torch_losses = twins.torch.at("losses").get<std::vector<double>>();
  const int64_t steps = twins.trifecta_flags.at("steps").get<int64_t>();
  ASSERT_EQ(static_cast<int64_t>(twins.trifecta_losses.size()), steps) << "trifecta must log every step";
  ASSERT_EQ(static_cast<int64_t>(torch_losses.size()), steps);
  for (size_t i = 0; i < steps_compared; ++i)
    EXPECT_NEAR(twins.trifecta_losses[i], torch_losses[i], 1e-4 * std::abs(torch_losses[i])) << "step " << i + 1;
}

TEST(VaeTwin, BothSidesRanTheSameExperiment) { expect_same_experiment(read_twins(), 20); }

TEST(VaeTwin, TwoStageFirstStageRanTheSameExperiment) {
  const Twins twins = read_twins("TRIFECTA_VAE_INFOGAN_TWIN_DIR", "vae-infogan-gaussian");
  expect_same_experiment(twins, 10, {"adam-beta1"});
  // Test negative ELBOs (eval mode: batch norm on its running statistics) within half a nat.
  const double ours = twins.trifecta_negative_elbo, theirs = twins.torch.at("test_negative_elbo").get<double>();
  EXPECT_LT(std::abs(ours - theirs), 0.5) << "trifecta " << ours << ", PyTorch " << theirs;
  // Trained, if slowly at lr 1e-4 with gamma starting at 1 (whose 784 log(2 pi) / 2 = 720 nats dominate):
  // clearly below the first step's loss.
  EXPECT_LT(ours, twins.trifecta_losses.front() - 20.0);
}

TEST(VaeTwin, TwoStageSecondStageRanTheSameExperiment) {
  const Twins twins = read_twins("TRIFECTA_VAE_STAGE2_TWIN_DIR", "vae-stage2");
  // The codes come from the first stage's encoder on each side (trifecta's and PyTorch's batch norm and
  // convolutions), so they differ by float rounding before the second stage sees them.
  expect_same_experiment(twins, 10, {"stage", "from", "stage2-hidden", "adam-beta1"});
  const double ours = twins.trifecta_negative_elbo, theirs = twins.torch.at("test_negative_elbo").get<double>();
  EXPECT_LT(std::abs(ours - theirs), 0.5) << "trifecta " << ours << ", PyTorch " << theirs << " nats per code";
  EXPECT_LT(ours, twins.trifecta_losses.front() - 5.0) << "the second stage did not train";
}

// A WAE's pair: the same experiment, and test reconstruction costs within 2% and MMDs within 10%.
void expect_wae_twins(const Twins& twins, size_t steps_compared, const std::vector<const char*>& flags) {
  expect_same_experiment(twins, steps_compared, flags);
  ASSERT_TRUE(twins.trifecta_evaluation.is_object()) << "no WAE evaluation line in metrics.jsonl";
  const double ours = twins.trifecta_evaluation.at("test_reconstruction").get<double>();
  const double theirs = twins.torch.at("test_reconstruction").get<double>();
  EXPECT_LT(std::abs(ours - theirs), 0.02 * theirs) << "test reconstruction cost: trifecta " << ours << ", PyTorch " << theirs;
  const double our_mmd = twins.trifecta_evaluation.at("test_mmd").get<double>();
  const double their_mmd = twins.torch.at("test_mmd").get<double>();
  EXPECT_NEAR(our_mmd, their_mmd, 0.1 * std::abs(their_mmd) + 1e-3) << "test MMD";
}

TEST(VaeTwin, WaeMmdRanTheSameExperiment) {
  expect_wae_twins(read_twins("TRIFECTA_WAE_TWIN_DIR", "wae-mmd-conv"), 10, {"objective", "wae-lambda", "adam-beta1"});
}

// WAE-GAN's adversarial game amplifies rounding differences faster (measured: about 1e-4 relative by step
// 10, 0.7% by step 20, and final test scores 2% and 15% apart after 60 steps), hence a shorter run (30 steps)
// and eight steps compared to float rounding.
TEST(VaeTwin, WaeGanRanTheSameExperiment) {
  expect_wae_twins(read_twins("TRIFECTA_WAE_GAN_TWIN_DIR", "wae-gan-conv"), 8,
                   {"objective", "wae-lambda", "disc-lr", "adam-beta1"});
}

TEST(VaeTwin, TestNegativeElbosAgreeWithinOneNat) {
  const Twins twins = read_twins();
  const double ours = twins.trifecta_negative_elbo, theirs = twins.torch.at("test_negative_elbo").get<double>();
  EXPECT_LT(std::abs(ours - theirs), 1.0) << "trifecta " << ours << " nats, PyTorch " << theirs << " nats";
  // Both trained: an untrained conv VAE sits near 545 nats on these images, a collapsed one far above.
  EXPECT_LT(ours, 400.0);
  EXPECT_GT(ours, 200.0) << "implausibly low for 150 steps: is the likelihood summed over pixels?";
}

}  // namespace
}  // namespace trifecta
