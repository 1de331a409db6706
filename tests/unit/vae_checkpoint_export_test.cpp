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
  Flags flags("vae train", "test");
  add_flags(flags);
  std::vector<std::string> args = {"vae",  "--out",       dir,   "--steps",     "5",  "--batch-size", "16",
                                   "--train-limit", "64", "--test-limit", "16", "--latent", "4", "--hidden", "32"};
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  ASSERT_TRUE(flags.parse(static_cast<int>(argv.size()), argv.data(), 1));
  train(flags);

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
