// A short training of each model beyond the plain VAE (the Two-Stage VAE, WAE-MMD, WAE-GAN) must improve
// FID-F over its initialization: samples scored by the versioned FID-F feature network
// (models/classify/feature_net.h) against test images. Short runs on a subset, sized to take well under two
// minutes on two cores; the thresholds only ask for a clear improvement, which untrained networks (whose
// samples are near-constant gray images) leave no doubt about.
#include <gtest/gtest.h>

#include <filesystem>

#include "models/classify/feature_net.h"
#include "models/common/dataset_flags.h"
#include "models/common/image_metrics/frechet_distance.h"
#include "models/vae/second_stage.h"
#include "models/vae/train.h"
#include "tensor/safetensors.h"
#include "tests/harness/vae_command.h"

namespace trifecta::vae {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kScored = 300;  // samples and test images per FID-F

Flags parse_train(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--threads", "2", "--train-limit", "1024", "--test-limit", "64", "--log-every", "50",
                                  "--checkpoint-every", "0", "--eval-every", "0"};
  all.insert(all.end(), args.begin(), args.end());
  return testing::parse_vae_command("train", all);
}

fs::path temp_dir(const std::string& name) { return testing::fresh_temp_path("trifecta_vae_fid", name); }

class VaeFid : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    net_ = new classify::FeatureNet();
    Flags flags = parse_train({});
    const Tensor test = load_split(flags, FashionMnistSplit::Test, kScored).images;
    reference_ = new image_metrics::FeatureStatistics(
        image_metrics::feature_statistics(net_->compute(test).features, "test images"));
  }
  static void TearDownTestSuite() {
    delete net_;
    delete reference_;
  }
  static double fid(const Tensor& samples) {
    return image_metrics::frechet_distance(
        image_metrics::feature_statistics(net_->compute(samples).features, "samples"), *reference_);
  }
  static classify::FeatureNet* net_;
  static image_metrics::FeatureStatistics* reference_;
};
classify::FeatureNet* VaeFid::net_ = nullptr;
image_metrics::FeatureStatistics* VaeFid::reference_ = nullptr;

// The run's VAE with its initial weights (init.safetensors) and with its final ones.
std::pair<std::unique_ptr<Vae>, std::unique_ptr<Vae>> initial_and_trained(const fs::path& run, const VaeConfig& config) {
  auto initial = std::make_unique<Vae>(config), trained = std::make_unique<Vae>(config);
  initial->load_state_dict(load_safetensors((run / "init.safetensors").string()).tensors);
  trained->load_state_dict(load_checkpoint((run / "checkpoint.safetensors").string(), config.kind()).model);
  initial->eval();
  trained->eval();
  return {std::move(initial), std::move(trained)};
}

TEST_F(VaeFid, TwoStageVaeImprovesOnItsInitialization) {
  const fs::path first = temp_dir("stage1"), second = temp_dir("stage2");
  train(parse_train({"--out", first.string(), "--architecture", "infogan", "--likelihood", "gaussian", "--latent", "16",
                     "--batch-size", "32", "--steps", "60"}));
  train(parse_train({"--stage", "2", "--from", first.string(), "--out", second.string(), "--stage2-hidden", "128",
                     "--batch-size", "32", "--steps", "150"}));
  const auto [vae_initial, vae_trained] = initial_and_trained(first, VaeConfig::from_flags("infogan", "gaussian", 16, 256));
  SecondStageVae stage2_initial(16, 128), stage2_trained(16, 128);
  stage2_initial.load_state_dict(load_safetensors((second / "init.safetensors").string()).tensors);
  stage2_trained.load_state_dict(load_checkpoint((second / "checkpoint.safetensors").string(), "vae-stage2").model);
  stage2_initial.eval();
  stage2_trained.eval();
  const double before = fid(draw_samples(*vae_initial, kScored, kSampleSeed, &stage2_initial));
  const double after = fid(draw_samples(*vae_trained, kScored, kSampleSeed, &stage2_trained));
  std::printf("Two-Stage VAE FID-F: initial %.1f, trained %.1f (first stage alone %.1f)\n", before, after,
              fid(draw_samples(*vae_trained, kScored, kSampleSeed)));
  EXPECT_LT(after, 0.7 * before);
}

TEST_F(VaeFid, WassersteinAutoEncodersImproveOnTheirInitialization) {
  // lambda 10 for the MMD (the paper's MNIST setting); the adversarial penalty with lambda 1 and more steps,
  // as its codes reach the prior more slowly (a discriminator has to learn first what to push them by).
  struct Run {
    const char* objective;
    const char* lambda;
    const char* steps;
  };
  for (const Run& r : {Run{"wae-mmd", "10", "150"}, Run{"wae-gan", "1", "250"}}) {
    const std::string objective = r.objective;
    const fs::path run = temp_dir(objective);
    train(parse_train({"--out", run.string(), "--objective", objective, "--wae-lambda", r.lambda, "--latent", "8",
                       "--batch-size", "32", "--steps", r.steps, "--adam-beta1", "0.5"}));
    const auto [initial, trained] = initial_and_trained(run, VaeConfig::from_flags("conv", "bernoulli", 8, 256, objective));
    const double before = fid(draw_samples(*initial, kScored, kSampleSeed));
    const double after = fid(draw_samples(*trained, kScored, kSampleSeed));
    std::printf("%s FID-F: initial %.1f, trained %.1f\n", r.objective, before, after);
    EXPECT_LT(after, 0.7 * before) << objective;
  }
}

}  // namespace
}  // namespace trifecta::vae
