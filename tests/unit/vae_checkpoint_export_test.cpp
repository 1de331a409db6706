// First half of the checkpoint interoperability check: trains a small VAE, then saves a probe (test images
// and the encoder's output on them) beside its checkpoint. tests/oracle/check_checkpoint_torch.py then opens
// the checkpoint with safetensors.torch, loads it into the PyTorch twin and must reproduce the probe.
// CTest passes the directory in TRIFECTA_VAE_EXPORT_DIR.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/fashion_mnist.h"
#include "models/common/checkpoint.h"
#include "models/vae/train.h"

namespace trifecta::vae {
namespace {

TEST(VaeCheckpointExport, WritesACheckpointAndAProbe) {
  const char* dir = std::getenv("TRIFECTA_VAE_EXPORT_DIR");
  ASSERT_NE(dir, nullptr) << "TRIFECTA_VAE_EXPORT_DIR is not set; run through ctest";
  std::filesystem::remove_all(dir);
  const std::optional<CommandLine::Parsed> parsed =
      command_line().parse({"train", "--out", dir, "--steps", "5", "--batch-size", "16", "--train-limit", "64",
                            "--test-limit", "16", "--latent", "4", "--hidden", "32"});
  ASSERT_TRUE(parsed.has_value());
  train(parsed->flags);

  const Checkpoint checkpoint = load_checkpoint(std::string(dir) + "/checkpoint.safetensors", "vae-conv-bernoulli");
  Vae model(VaeConfig::from_flags("conv", "bernoulli", 4, 32));
  model.load_state_dict(checkpoint.model);
  NoGradGuard no_grad;
  const Tensor images = load_fashion_mnist(FashionMnistSplit::Test, {.limit = 4}).images;
  const Vae::Posterior q = model.encode(images);
  save_safetensors(std::string(dir) + "/probe.safetensors",
                   {{"images", images}, {"encoder_output", concat({q.mu, q.logvar}, 1)}});
}

}  // namespace
}  // namespace trifecta::vae
