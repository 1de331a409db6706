// Wasserstein auto-encoders in the vae binary (models/vae/wae.h): the reconstruction cost's formula, exact
// resume with both of WAE-GAN's optimizers in the checkpoint, sampling, and the flags a WAE refuses.
// (Its MMD is tested in nn_mmd_test.cpp, its match with PyTorch in vae_twin_test.cpp, its FID-F gain in
// vae_fid_test.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "models/common/checkpoint.h"
#include "models/vae/train.h"
#include "models/vae/wae.h"
#include "tests/harness/expect_error.h"
#include "tests/harness/vae_command.h"

namespace trifecta::vae {
namespace {

namespace fs = std::filesystem;

const auto parse_command = &testing::parse_vae_command;

fs::path fresh_dir(const std::string& name) { return testing::fresh_temp_path("trifecta_vae_wae", name); }

std::vector<std::string> tiny(const std::string& objective, const fs::path& out, int64_t steps) {
  return {"--objective", objective, "--out", out.string(), "--architecture", "mlp", "--hidden", "16", "--latent", "4",
          "--batch-size", "16", "--train-limit", "96", "--test-limit", "32", "--threads", "1", "--log-every", "1",
          "--checkpoint-every", "3", "--seed", "9", "--steps", std::to_string(steps), "--wae-lambda", "3"};
}

TEST(Wae, ReconstructionCostIsTheScaledSquaredDistanceAveragedOverTheBatch) {
  Generator g(1);
  const Tensor x = rand({3, 1, 28, 28}, DType::Float64, &g), y = rand({3, 1, 28, 28}, DType::Float64, &g);
  const std::vector<double> xs = x.to_vector<double>(), ys = y.to_vector<double>();
  double total = 0;
  for (size_t i = 0; i < xs.size(); ++i) total += (xs[i] - ys[i]) * (xs[i] - ys[i]);
  EXPECT_NEAR(wae_reconstruction_cost(x, y).item<double>(), 0.05 * total / 3, 1e-12);
}

TEST(Wae, ResumeIsBitIdenticalWithBothOptimizers) {
  for (const std::string objective : {"wae-mmd", "wae-gan"}) {
    const fs::path straight = fresh_dir("straight_" + objective), split = fresh_dir("split_" + objective);
    train(parse_command("train", tiny(objective, straight, 8)));
    train(parse_command("train", tiny(objective, split, 4)));
    train(parse_command("train", {"--out", split.string(), "--resume", "--steps", "8"}));
    const Checkpoint a = load_checkpoint((straight / "checkpoint.safetensors").string(), objective + "-mlp");
    const Checkpoint b = load_checkpoint((split / "checkpoint.safetensors").string(), objective + "-mlp");
    EXPECT_EQ(a.position.step, 8);
    EXPECT_EQ(a.position.rng.offset, b.position.rng.offset) << objective;
    ASSERT_EQ(a.model.size(), b.model.size());
    for (size_t i = 0; i < a.model.size(); ++i)
      EXPECT_EQ(a.model[i].second.to_vector<float>(), b.model[i].second.to_vector<float>()) << a.model[i].first;
    ASSERT_EQ(a.optimizer.size(), b.optimizer.size());
    bool discriminator_state = false;
    for (size_t i = 0; i < a.optimizer.size(); ++i) {
      EXPECT_EQ(a.optimizer[i].second.to_vector<double>(), b.optimizer[i].second.to_vector<double>())
          << a.optimizer[i].first;
      discriminator_state |= a.optimizer[i].first.rfind("discriminator.", 0) == 0;
    }
    // WAE-GAN's latent discriminator is part of the model and has its own, named, optimizer.
    EXPECT_EQ(discriminator_state, objective == "wae-gan") << objective;
    bool has_discriminator = false;
    for (const auto& [name, t] : a.model) has_discriminator |= name.rfind("latent_disc.", 0) == 0;
    EXPECT_EQ(has_discriminator, objective == "wae-gan") << objective;
    // Samples decode z ~ N(0, I); eval refuses (a WAE has no likelihood).
    sample_from_checkpoint(parse_command("sample", {"--out", straight.string(), "--count", "3", "--format", "npy"}));
    EXPECT_TRUE(fs::exists(straight / "samples.npy"));
    testing::expect_error([&] { evaluate_checkpoint(parse_command("eval", {"--out", straight.string()})); },
                          "vae eval", "no likelihood", "classify fid");
  }
}

TEST(Wae, BadFlagsAreClearErrors) {
  const fs::path out = fresh_dir("bad");
  std::vector<std::string> args = tiny("wae-mmd", out, 2);
  // The tiny run's flags with some values replaced or added.
  const auto with = [&](std::vector<std::string> changes) {
    std::vector<std::string> all = args;
    for (size_t i = 0; i + 1 < changes.size(); i += 2) {
      const auto at = std::find(all.begin(), all.end(), changes[i]);
      if (at != all.end()) *(at + 1) = changes[i + 1];
      else all.insert(all.end(), {changes[i], changes[i + 1]});
    }
    all.push_back("--overwrite");
    return [all] { train(parse_command("train", all)); };
  };
  testing::expect_error(with({"--objective", "wae"}), "vae --objective", "expects elbo, wae-mmd or wae-gan", "'wae'");
  testing::expect_error(with({"--wae-lambda", "-1"}), "--wae-lambda", "non-negative");
  testing::expect_error(with({"--batch-size", "1"}), "--batch-size >= 2");
  testing::expect_error(with({"--stage", "2", "--from", out.string()}), "--stage 2", "--objective elbo");
}

}  // namespace
}  // namespace trifecta::vae
