// trifecta's VAE against its PyTorch twin, both run at test time by CTest fixtures with every setting pinned
// (tests/CMakeLists.txt, TRIFECTA_VAE_TWIN_FLAGS): `vae train` writes its run into TRIFECTA_VAE_TWIN_DIR,
// then bench/reference/vae_torch.py trains the same model from that run's init.safetensors on the same
// batches with the same noise and writes torch.json there. This test checks the two really ran the same
// experiment (the same flags, the same first losses) and that their test negative ELBOs agree within 1 nat.
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
  Json torch;                      // vae_torch.py's result line
};

Twins read_twins() {
  const char* dir = std::getenv("TRIFECTA_VAE_TWIN_DIR");
  EXPECT_NE(dir, nullptr) << "TRIFECTA_VAE_TWIN_DIR is not set; run through ctest";
  Twins twins;
  if (!dir) return twins;
  const fs::path run = twins.run = dir;
  twins.trifecta_flags = load_checkpoint((run / "checkpoint.safetensors").string(), "vae-conv-bernoulli").config;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string text; std::getline(metrics, text);) {
    const Json line = json::parse(text, "metrics.jsonl");
    if (line.contains("loss")) twins.trifecta_losses.push_back(line.at("loss").get<double>());
    if (line.contains("test_negative_elbo")) twins.trifecta_negative_elbo = line.at("test_negative_elbo").get<double>();
  }
  std::ifstream torch(run / "torch.json");
  std::string text((std::istreambuf_iterator<char>(torch)), std::istreambuf_iterator<char>());
  twins.torch = json::parse(text, (run / "torch.json").string());
  return twins;
}

TEST(VaeTwin, BothSidesRanTheSameExperiment) {
  const Twins twins = read_twins();
  const Json& torch_flags = twins.torch.at("flags");
  for (const char* flag : {"architecture", "likelihood", "latent", "hidden", "lr", "kl-schedule", "seed", "steps",
                           "batch-size", "train-limit", "test-limit", "device"})
    EXPECT_EQ(twins.trifecta_flags.at(flag), torch_flags.at(flag)) << "--" << flag << " differs";
  EXPECT_EQ(torch_flags.at("device"), "cpu");
  EXPECT_EQ(fs::path(torch_flags.at("init").get<std::string>()), twins.run / "init.safetensors");
  // Same initial weights, batches and noise: the first steps agree to float rounding (they drift apart only
  // slowly, as rounding differences compound through Adam).
  const std::vector<double> torch_losses = twins.torch.at("losses").get<std::vector<double>>();
  const int64_t steps = twins.trifecta_flags.at("steps").get<int64_t>();
  ASSERT_EQ(static_cast<int64_t>(twins.trifecta_losses.size()), steps) << "trifecta must log every step";
  ASSERT_EQ(static_cast<int64_t>(torch_losses.size()), steps);
  for (size_t i = 0; i < 20; ++i)
    EXPECT_NEAR(twins.trifecta_losses[i], torch_losses[i], 1e-4 * std::abs(torch_losses[i])) << "step " << i + 1;
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
