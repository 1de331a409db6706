// The Two-Stage VAE (models/vae/two_stage.h): the authors' InfoGAN first-stage network and its Gaussian
// likelihood with a learned gamma, the second stage's network and likelihood, sampling through both, an
// exactly resumable second stage, and every way of pointing it at the wrong first stage refused clearly.
// (That a short training improves FID-F is tests/unit/vae_fid_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "models/common/checkpoint.h"
#include "models/vae/second_stage.h"
#include "models/vae/train.h"
#include "nn/init.h"
#include "tensor/safetensors.h"
#include "tests/harness/expect_error.h"
#include "tests/harness/vae_command.h"

namespace trifecta::vae {
namespace {

namespace fs = std::filesystem;

const auto parse_command = &testing::parse_vae_command;

fs::path temp_dir(const std::string& name) {
  const fs::path dir = testing::fresh_temp_path("trifecta_vae_two_stage", name);
  fs::create_directories(dir);
  return dir;
}

// A small first stage (any VAE run serves as one) and a small second stage on it: 96 images, batches of 16.
const std::vector<std::string> kData = {"--batch-size", "16", "--train-limit", "96", "--test-limit", "32",
                                        "--threads", "1", "--log-every", "1", "--seed", "5"};
void train_first_stage(const fs::path& out, int64_t steps = 3) {
  std::vector<std::string> args = {"--out", out.string(), "--architecture", "mlp", "--hidden", "16", "--latent", "4",
                                   "--likelihood", "gaussian", "--steps", std::to_string(steps)};
  args.insert(args.end(), kData.begin(), kData.end());
  train(parse_command("train", args));
}
std::vector<std::string> second_stage_args(const fs::path& from, const fs::path& out, int64_t steps) {
  std::vector<std::string> args = {"--stage", "2", "--from", from.string(), "--out", out.string(), "--stage2-hidden", "8",
                                   "--steps", std::to_string(steps), "--checkpoint-every", "2"};
  args.insert(args.end(), kData.begin(), kData.end());
  return args;
}

double sum_of(const Tensor& t) { return sum(t.to(DType::Float64)).item<double>(); }

TEST(TwoStageVae, InfoGanFirstStageIsTheAuthorsNetwork) {
  Generator init(1);
  Vae model(VaeConfig::from_flags("infogan", "gaussian", 64, 256), &init);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : model.state_dict()) shapes[name] = t.shape();
  // conv64 4x4/2 + lReLU -> conv128 4x4/2 + BN + lReLU -> FC1024 + BN + lReLU -> FC 2k; the decoder mirrored.
  const std::map<std::string, Shape> expected = {
      {"enc.0.weight", {64, 1, 4, 4}},     {"enc.2.weight", {128, 64, 4, 4}}, {"enc.3.running_mean", {128}},
      {"enc.6.weight", {1024, 6272}},      {"enc.7.weight", {1024}},          {"enc.9.weight", {128, 1024}},
      {"dec.0.weight", {1024, 64}},        {"dec.1.weight", {1024}},          {"dec.3.weight", {6272, 1024}},
      {"dec.4.weight", {6272}},            {"dec.7.weight", {128, 64, 4, 4}}, {"dec.8.weight", {64}},
      {"dec.10.weight", {64, 1, 4, 4}},    {"log_gamma", {}}};
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(shapes.count(name)) << name;
    EXPECT_EQ(shapes[name], shape) << name;
  }
  EXPECT_EQ(model.config().kind(), "vae-infogan-gaussian");
  // N(0, 0.02) weights, zero biases (the authors' initialization), batch norm at PyTorch's defaults.
  std::vector<float> w;
  for (const auto& [name, t] : model.state_dict())
    if (name == "enc.6.weight") w = t.to_vector<float>();
  double mean = 0, square = 0;
  for (float v : w) mean += v, square += double(v) * v;
  mean /= double(w.size());
  EXPECT_NEAR(mean, 0.0, 1e-3);
  EXPECT_NEAR(std::sqrt(square / double(w.size()) - mean * mean), 0.02, 2e-4);
  int64_t biases = 0;
  for (const auto& [name, t] : model.named_parameters())
    if (name.ends_with(".bias")) {
      EXPECT_EQ(sum_of(abs(t)), 0.0) << name;
      ++biases;
    }
  EXPECT_EQ(biases, 4 + 2 + 4 + 3);  // four weighted layers a side, two batch norms in the encoder, three in the decoder
}

// The Gaussian likelihood with one learned gamma is sum_pixels[(x - xhat)^2 / (2 gamma^2) + log gamma +
// log(2 pi) / 2], xhat = sigmoid(decoder output), and the posterior's sigma = softplus(.) + 1e-6 is positive.
TEST(TwoStageVae, FirstStageLikelihoodIsTheGaussianWithLearnedGamma) {
  Generator init(2), noise(3);
  Vae model(VaeConfig::from_flags("infogan", "gaussian", 8, 256), &init);
  for (auto& [name, t] : model.named_parameters())
    if (name == "log_gamma") nn::init::constant_(t, std::log(0.3));
  model.eval();
  NoGradGuard no_grad;
  const Tensor x = rand({3, 1, 28, 28}, DType::Float32, &noise);
  const GaussianVae::Posterior q = model.encode(x);
  const Tensor decoded = model.decode(q.mu);
  const std::vector<float> xs = x.to_vector<float>(), ds = decoded.to_vector<float>();
  const std::vector<float> ll = model.log_likelihood(x, decoded).to_vector<float>();
  for (int64_t i = 0; i < 3; ++i) {
    double nll = 0;
    for (int64_t p = 0; p < 784; ++p) {
      const double mean = 1 / (1 + std::exp(-double(ds[i * 784 + p]))), diff = xs[i * 784 + p] - mean;
      nll += diff * diff / (2 * 0.09) + std::log(0.3) + 0.5 * std::log(2 * M_PI);
    }
    EXPECT_NEAR(-ll[i], nll, 1e-4 * std::abs(nll)) << "image " << i;
  }
  for (const float logvar : q.logvar.to_vector<float>()) EXPECT_GE(std::exp(logvar / 2), 1e-6 * (1 - 1e-3));
}

TEST(TwoStageVae, SecondStageIsASkipConnectedMlpVae) {
  Generator init(4);
  SecondStageVae model(6, 32, &init);
  std::map<std::string, Shape> shapes;
  for (const auto& [name, t] : model.state_dict()) shapes[name] = t.shape();
  const std::map<std::string, Shape> expected = {
      {"enc.0.weight", {32, 6}},   {"enc.2.weight", {32, 32}}, {"enc.4.weight", {32, 32}}, {"enc_out.weight", {12, 38}},
      {"dec.0.weight", {32, 6}},   {"dec.2.weight", {32, 32}}, {"dec.4.weight", {32, 32}}, {"dec_out.weight", {6, 38}},
      {"log_gamma", {}}};
  for (const auto& [name, shape] : expected) {
    ASSERT_TRUE(shapes.count(name)) << name;
    EXPECT_EQ(shapes[name], shape) << name;
  }
  EXPECT_EQ(shapes.size(), expected.size() + 8) << "and a bias for each of the eight linear layers";
  // p(z|u) = N(z_hat, gamma_z^2 I), here with gamma_z = 1: -log p = |z - z_hat|^2 / 2 + k log(2 pi) / 2.
  const Tensor z = randn({2, 6}, DType::Float32, &init), z_hat = randn({2, 6}, DType::Float32, &init);
  const std::vector<float> ll = model.log_likelihood(z, z_hat).to_vector<float>();
  const std::vector<float> zs = z.to_vector<float>(), hs = z_hat.to_vector<float>();
  for (int i = 0; i < 2; ++i) {
    double nll = 3 * std::log(2 * M_PI);
    for (int j = 0; j < 6; ++j) nll += 0.5 * (zs[i * 6 + j] - hs[i * 6 + j]) * (zs[i * 6 + j] - hs[i * 6 + j]);
    EXPECT_NEAR(-ll[i], nll, 1e-5 * std::abs(nll));
  }
  testing::expect_error([&] { model.encode(zeros({2, 5})); }, "vae stage 2", "[N, 6]");
}

TEST(TwoStageVae, SecondStageResumesBitIdentically) {
  const fs::path first = temp_dir("first"), straight = temp_dir("straight"), split = temp_dir("split");
  train_first_stage(first);
  train(parse_command("train", second_stage_args(first, straight, 8)));
  train(parse_command("train", second_stage_args(first, split, 4)));
  train(parse_command("train", {"--out", split.string(), "--resume", "--steps", "8"}));
  const Checkpoint a = load_checkpoint((straight / "checkpoint.safetensors").string(), "vae-stage2");
  const Checkpoint b = load_checkpoint((split / "checkpoint.safetensors").string(), "vae-stage2");
  EXPECT_EQ(a.position.step, 8);
  EXPECT_EQ(a.position.rng.offset, b.position.rng.offset);
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i)
    EXPECT_EQ(a.model[i].second.to_vector<float>(), b.model[i].second.to_vector<float>()) << a.model[i].first;
  for (size_t i = 0; i < a.optimizer.size(); ++i)
    EXPECT_EQ(a.optimizer[i].second.to_vector<double>(), b.optimizer[i].second.to_vector<double>()) << a.optimizer[i].first;
  // The run recorded which first stage it models.
  EXPECT_EQ(a.config.at("from").get<std::string>(), first.string());
  EXPECT_EQ(a.config.at("from-sha256").get<std::string>().size(), 64u);
}

TEST(TwoStageVae, SamplesGoThroughBothStages) {
  const fs::path first = temp_dir("sample_first"), second = temp_dir("sample_second");
  train_first_stage(first);
  train(parse_command("train", second_stage_args(first, second, 2)));
  sample_from_checkpoint(parse_command("sample", {"--out", second.string(), "--count", "5", "--format", "safetensors"}));
  const TensorFile written = load_safetensors((second / "samples.safetensors").string());
  EXPECT_EQ(written.metadata.at("model_kind"), "vae-stage2");
  // u ~ N(0, I) from the sample seed -> z = the second stage's decoder -> x = the first stage's decoder mean.
  const Checkpoint c1 = load_checkpoint((first / "checkpoint.safetensors").string());
  const Checkpoint c2 = load_checkpoint((second / "checkpoint.safetensors").string(), "vae-stage2");
  Vae vae(VaeConfig::from_flags("mlp", "gaussian", 4, 16));
  vae.load_state_dict(c1.model);
  vae.eval();
  SecondStageVae stage2(4, 8);
  stage2.load_state_dict(c2.model);
  stage2.eval();
  NoGradGuard no_grad;
  Generator g(kSampleSeed);
  const Tensor expected = vae.mean_image(vae.decode(stage2.decode(randn({5, 4}, DType::Float32, &g))));
  EXPECT_EQ(written.get("images").to_vector<float>(), expected.to_vector<float>());
  // The first stage alone samples z ~ N(0, I) directly: other images.
  EXPECT_NE(draw_samples(vae, 5, kSampleSeed).to_vector<float>(), expected.to_vector<float>());
  // eval reports the second stage's bound on the test images' codes.
  const Evaluation e = evaluate_checkpoint(parse_command("eval", {"--out", second.string(), "--test-limit", "16", "--iwae-k", "4"}));
  EXPECT_STREQ(e.unit, "codes");
  EXPECT_EQ(e.images, 16);
  EXPECT_TRUE(std::isfinite(e.negative_elbo));
  EXPECT_LE(e.iwae_nll, e.negative_elbo + 0.5);
}

TEST(TwoStageVae, AWrongFirstStageIsRefusedClearly) {
  const fs::path first = temp_dir("bad_first"), second = temp_dir("bad_second"), other = temp_dir("bad_other");
  train_first_stage(first);
  const auto train_with = [&](std::vector<std::string> args) { return [args] { train(parse_command("train", args)); }; };
  testing::expect_error(train_with({"--stage", "2", "--out", other.string()}), "vae train --stage 2", "needs --from");
  testing::expect_error(train_with({"--stage", "3", "--out", other.string()}), "--stage", "expects 1 or 2");
  testing::expect_error(train_with({"--from", first.string(), "--out", other.string()}), "--from", "only for --stage 2");
  testing::expect_error(train_with(second_stage_args(other / "missing", other, 2)), "no checkpoint at",
                        "stage-1 VAE run");
  fs::remove_all(other);
  train(parse_command("train", second_stage_args(first, second, 2)));
  testing::expect_error(train_with(second_stage_args(second, other, 2)), "is a stage-2 run");
  // A second stage models the codes of the exact first stage it saw: a first stage trained further since
  // is refused by sampling, evaluation and resuming alike.
  train(parse_command("train", {"--out", first.string(), "--resume", "--steps", "4"}));
  testing::expect_error([&] { sample_from_checkpoint(parse_command("sample", {"--out", second.string()})); },
                        "has changed since the second stage was trained on it", "checkpoint.safetensors");
  testing::expect_error([&] { evaluate_checkpoint(parse_command("eval", {"--out", second.string()})); },
                        "has changed since");
  testing::expect_error(train_with({"--out", second.string(), "--resume", "--steps", "4"}), "has changed since");
}

}  // namespace
}  // namespace trifecta::vae
