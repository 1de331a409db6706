// trifecta's SN-GAN against its PyTorch twin, both run at test time by CTest fixtures with every setting pinned
// (tests/CMakeLists.txt, TRIFECTA_GAN_TWIN_FLAGS: n_dis 2, linear LR decay and the generator's moving average
// all on): `gan train` writes its run into TRIFECTA_GAN_TWIN_DIR and `gan sample` 256 images of it, then
// bench/reference/gan_torch.py trains the same networks from that run's init.safetensors on the same batches
// with the same z and writes torch.json and 256 images of the same z. This test checks that both ran the
// same experiment: the same flags, the same losses step by step while rounding differences are still small,
// and nearly the same images from the moving average at the end. CTest runs it twice: on SN-GAN, and on
// FQ-GAN in its auxiliary form (quantizers after blocks 1 and 2, whose commitment losses must agree too).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "data/image_set.h"
#include "models/common/checkpoint.h"
#include "tensor/json.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

struct Twins {
  fs::path run;
  Json trifecta_flags;
  std::vector<double> loss_d, loss_g, commitment_d;  // trifecta's, one per step (commitment with FQ only)
  Json torch;
};

Twins read_twins() {
  const char* dir = std::getenv("TRIFECTA_GAN_TWIN_DIR");
  EXPECT_NE(dir, nullptr) << "TRIFECTA_GAN_TWIN_DIR is not set; run through ctest";
  Twins twins;
  if (!dir) return twins;
  const fs::path run = twins.run = dir;
  const Checkpoint checkpoint = load_checkpoint((run / "checkpoint.safetensors").string());
  const std::string kind = checkpoint.model_kind;
  EXPECT_TRUE(kind == "sngan" || kind == "fqgan-feed-forward" || kind == "fqgan-auxiliary") << kind;
  twins.trifecta_flags = checkpoint.config;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string text; std::getline(metrics, text);) {
    const Json line = json::parse(text, "metrics.jsonl");
    if (!line.contains("loss_d")) continue;
    twins.loss_d.push_back(line.at("loss_d").get<double>());
    twins.loss_g.push_back(line.at("loss_g").get<double>());
    if (line.contains("commitment_d")) twins.commitment_d.push_back(line.at("commitment_d").get<double>());
  }
  std::ifstream torch(run / "torch.json");
  std::string text((std::istreambuf_iterator<char>(torch)), std::istreambuf_iterator<char>());
  twins.torch = json::parse(text, (run / "torch.json").string());
  return twins;
}

TEST(GanTwin, BothSidesRanTheSameExperiment) {
  const Twins twins = read_twins();
  const Json& torch_flags = twins.torch.at("flags");
  for (const char* flag : {"latent", "g-channels", "d-channels", "batch-size", "n-dis", "lr", "betas", "lr-decay",
                           "ema-decay", "seed", "steps", "train-limit", "device", "fq-blocks", "fq-entries", "fq-decay",
                           "fq-commitment", "fq-form"})
    EXPECT_EQ(twins.trifecta_flags.at(flag), torch_flags.at(flag)) << "--" << flag << " differs";
  EXPECT_EQ(fs::path(torch_flags.at("init").get<std::string>()), twins.run / "init.safetensors");
}

TEST(GanTwin, LossesAgreeStepByStep) {
  const Twins twins = read_twins();
  const std::vector<double> torch_d = twins.torch.at("loss_d").get<std::vector<double>>();
  const std::vector<double> torch_g = twins.torch.at("loss_g").get<std::vector<double>>();
  const int64_t steps = twins.trifecta_flags.at("steps").get<int64_t>();
  ASSERT_EQ(static_cast<int64_t>(twins.loss_d.size()), steps) << "trifecta must log every step";
  ASSERT_EQ(static_cast<int64_t>(torch_d.size()), steps);
  // The first discriminator loss sees identical weights, batches and z: only summation order differs.
  EXPECT_NEAR(twins.loss_d[0], torch_d[0], 1e-6 * std::abs(torch_d[0]));
  // Then Adam with beta1 = 0 steps by about lr * sign(g) on coordinates whose gradient is near zero, so a
  // rounding difference can flip a step of 2e-4; such flips compound through the two networks. Over the first
  // 8 steps (16 discriminator and 8 generator updates) they stay below 2e-3 (at most 9e-4 measured), while a
  // different batch, z, learning rate or architecture moves the losses by 1e-2 or more from step 1 on.
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_NEAR(twins.loss_d[i], torch_d[i], 2e-3) << "loss_d at step " << i + 1;
    EXPECT_NEAR(twins.loss_g[i], torch_g[i], 2e-3) << "loss_g at step " << i + 1;
  }
  // With quantizers, their commitment losses (about 1e-3 early on) agree as closely, relative to their size
  // (measured: 2e-6 apart at step 8).
  const std::vector<double> torch_commitment = twins.torch.at("commitment_d").get<std::vector<double>>();
  ASSERT_EQ(twins.commitment_d.size(), torch_commitment.size());
  for (size_t i = 0; i < std::min<size_t>(8, torch_commitment.size()); ++i)
    EXPECT_NEAR(twins.commitment_d[i], torch_commitment[i], 2e-2 * std::abs(torch_commitment[i])) << "commitment_d at step " << i + 1;
}

TEST(GanTwin, MovingAveragesGiveNearlyTheSameImages) {
  const Twins twins = read_twins();
  const Tensor ours = load_image_set((twins.run / "samples.safetensors").string(), {});
  const Tensor theirs = load_image_set((twins.run / "torch_samples.safetensors").string(), {});
  ASSERT_EQ(ours.shape(), theirs.shape());
  const double mean_difference = mean(abs(sub(ours, theirs))).item<double>();
  const double spread = mean(abs(sub(ours, mean(ours)))).item<double>();
  // Measured: 2e-4 per pixel, against a spread of 0.07; samples of the generator instead of its average, or
  // in training-mode batch norm, differ by far more.
  EXPECT_LT(mean_difference, 2e-3) << "mean |trifecta - PyTorch| per pixel; pixels spread by " << spread;
}

}  // namespace
}  // namespace trifecta
