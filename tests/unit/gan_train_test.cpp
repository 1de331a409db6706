// SN-GAN in-process: the networks' shapes and ranges, the discriminator's per-block hook, the generator's
// moving average against its formula, a resumed run bit-identical to an uninterrupted one, and a short
// training that must improve FID-F over the initial weights. (The CLI is tests/unit/gan_cli_test.cpp, the
// comparison with the PyTorch twin tests/unit/gan_twin_test.cpp.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>

#include "models/common/checkpoint.h"
#include "models/gan/train.h"
#include "tensor/json.h"

namespace trifecta::gan {
namespace {

namespace fs = std::filesystem;

Flags parse_command(const std::string& command, const std::vector<std::string>& args) {
  std::vector<std::string> all = {command, "--device", "cpu"};
  all.insert(all.end(), args.begin(), args.end());
  std::optional<CommandLine::Parsed> parsed = command_line().parse(all);
  EXPECT_TRUE(parsed.has_value());
  return parsed ? parsed->flags : Flags("none");
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_gan_train_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

GanConfig tiny_config(bool ema = true, std::vector<int64_t> fq_blocks = {}) {
  GanConfig c;
  c.latent = 8;
  c.g_channels = 16;
  c.d_channels = 4;
  c.ema = ema;
  c.fq_blocks = std::move(fq_blocks);
  c.fq.entries = 8;
  return c;
}
const GanConfig kTinyConfig = tiny_config();

TEST(GanModel, ShapesRangesAndParameterNames) {
  Generator init(1);
  Gan model(kTinyConfig, &init);
  // The average starts as the generator.
  const NamedTensors g = model.generator().state_dict(), average = model.sampler().state_dict();
  ASSERT_EQ(g.size(), average.size());
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_EQ(g[i].second.to(DType::Float64).to_vector<double>(), average[i].second.to(DType::Float64).to_vector<double>());
  Generator noise(2);
  const Tensor images = model.generator().forward(randn({5, 8}, DType::Float32, &noise));
  EXPECT_EQ(images.shape(), (Shape{5, 1, 28, 28}));
  const std::vector<float> pixels = images.to_vector<float>();
  EXPECT_GE(*std::min_element(pixels.begin(), pixels.end()), 0.0f);
  EXPECT_LE(*std::max_element(pixels.begin(), pixels.end()), 1.0f);
  EXPECT_EQ(model.discriminator().forward(images).shape(), (Shape{5, 1}));
  // PyTorch's names, which bench/reference/gan_torch.py loads strictly.
  std::vector<std::string> names;
  for (const auto& [name, t] : model.state_dict()) names.push_back(name);
  for (const char* expected : {"generator.0.weight", "generator.2.running_mean", "generator.10.bias",
                               "discriminator.blocks.0.0.weight_orig", "discriminator.blocks.1.2.weight_u",
                               "discriminator.blocks.2.0.weight_v", "discriminator.head.weight_orig",
                               "generator_ema.4.weight"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  GanConfig bad = tiny_config();
  bad.g_channels = 6;
  EXPECT_THROW(Gan(bad, &init), Error);
  bad = tiny_config();
  bad.latent = 0;
  EXPECT_THROW(Gan(bad, &init), Error);
  EXPECT_THROW(Gan(tiny_config(false, {3}), &init), Error);
  EXPECT_THROW(Gan(tiny_config(false, {2, 1}), &init), Error);
}

TEST(GanModel, DiscriminatorHookSeesEveryBlockAndFeedsItsResultOn) {
  Generator init(3);
  Gan model(kTinyConfig, &init);
  Discriminator& d = model.discriminator();
  d.eval();  // no power iteration, so the two forwards below use one weight
  const Tensor images = rand({2, 1, 28, 28}, DType::Float32, &init);
  std::vector<std::pair<int64_t, Shape>> seen;
  const Tensor plain = d.forward(images);
  const Tensor hooked = d.forward(images, [&](int64_t block, const Tensor& h) {
    seen.emplace_back(block, h.shape());
    EXPECT_EQ(h.size(1), d.block_channels(block));
    return h;
  });
  EXPECT_EQ(plain.to_vector<float>(), hooked.to_vector<float>());
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, Shape>>{{0, Shape{2, 4, 14, 14}}, {1, Shape{2, 8, 7, 7}},
                                                          {2, Shape{2, 16, 7, 7}}}));
  // What the hook returns is what the head sees: zero features leave only the head's bias.
  const Tensor zeroed = d.forward(images, [](int64_t block, const Tensor& h) { return block == 2 ? zeros_like(h) : h; });
  Tensor bias;
  for (const auto& [name, t] : d.state_dict())
    if (name == "head.bias") bias = t;
  EXPECT_NEAR(zeroed.to_vector<float>()[0], bias.item<float>(), 1e-7);
  EXPECT_NE(zeroed.to_vector<float>()[0], plain.to_vector<float>()[0]);
}

TEST(GanModel, FeatureQuantizersSitAfterTheirBlocksInBothForms) {
  const Tensor images = [] {
    Generator g(8);
    return rand({3, 1, 28, 28}, DType::Float32, &g);
  }();
  GanConfig plain_config = tiny_config(false), feed_forward = tiny_config(false, {0, 2}), auxiliary = feed_forward;
  auxiliary.fq.feed_forward = false;
  EXPECT_EQ(plain_config.kind(), "sngan");
  EXPECT_EQ(feed_forward.kind(), "fqgan-feed-forward");
  EXPECT_EQ(auxiliary.kind(), "fqgan-auxiliary");
  std::vector<std::vector<float>> scores;
  for (const GanConfig& config : {plain_config, feed_forward, auxiliary}) {
    Generator init(9);  // the same networks in all three: quantizers draw after them
    Gan model(config, &init);
    model.eval();
    const Gan::Judgement judged = model.discriminate(images);
    scores.push_back(judged.scores.to_vector<float>());
    EXPECT_EQ(judged.commitment_loss.defined(), !config.fq_blocks.empty());
    if (config.fq_blocks.empty()) continue;
    std::vector<std::string> names;
    for (const auto& [name, t] : model.state_dict()) names.push_back(name);
    for (const char* expected : {"quantizers.0.dictionary", "quantizers.2.cluster_size", "quantizers.2.embed_sum"})
      EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
    EXPECT_GT(judged.commitment_loss.item<double>(), 0.0);
    EXPECT_EQ(model.quantizer_usage().size(), 2u);
  }
  // The auxiliary form leaves the scores as they are; the feed-forward form scores quantized features.
  EXPECT_EQ(scores[2], scores[0]);
  EXPECT_NE(scores[1], scores[0]);
}

TEST(GanModel, MovingAverageFollowsItsFormulaAndCopiesBatchNormStatistics) {
  Generator init(4);
  Gan model(kTinyConfig, &init);
  const NamedTensors before = model.sampler().state_dict();
  std::vector<std::vector<double>> old_average;
  for (const auto& [name, t] : before) old_average.push_back(t.to(DType::Float64).to_vector<double>());
  // Move the generator: new weights, and running statistics from one training forward.
  {
    NoGradGuard no_grad;
    for (const Tensor& p : model.generator().parameters()) copy_(p, add(p, 0.5));
  }
  model.generator().train();
  model.generator().forward(randn({4, 8}, DType::Float32, &init));
  model.update_ema(0.9);
  const NamedTensors g = model.generator().state_dict(), average = model.sampler().state_dict();
  const NamedTensors params = model.generator().named_parameters();
  for (size_t i = 0; i < g.size(); ++i) {
    const bool is_parameter = std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == g[i].first; });
    const std::vector<double> now = g[i].second.to(DType::Float64).to_vector<double>();
    const std::vector<double> got = average[i].second.to(DType::Float64).to_vector<double>();
    for (size_t j = 0; j < now.size(); ++j) {
      const double expected = is_parameter ? 0.9 * old_average[i][j] + 0.1 * now[j] : now[j];
      EXPECT_NEAR(got[j], expected, 1e-6 * (1 + std::abs(expected))) << g[i].first << " " << j;
    }
  }
  EXPECT_THROW(model.update_ema(1.0), Error);
  Gan without(tiny_config(false), &init);
  EXPECT_THROW(without.update_ema(0.9), Error);
}

// A tiny run with the options that add state: n_dis 2 (batches per step) and the moving average.
std::vector<std::string> tiny(const fs::path& out, int64_t steps) {
  return {"--out", out.string(), "--batch-size", "8", "--train-limit", "64", "--test-limit", "32", "--latent", "8",
          "--g-channels", "16", "--d-channels", "4", "--n-dis", "2", "--ema-decay", "0.9",
          "--checkpoint-every", "2", "--log-every", "1", "--eval-every", "0", "--fid-samples", "16", "--kid-subsets", "2",
          "--seed", "5", "--threads", "1", "--steps", std::to_string(steps)};
}

std::vector<int64_t> logged_steps(const fs::path& path) {
  std::ifstream in(path);
  std::vector<int64_t> steps;
  for (std::string line; std::getline(in, line);) {
    const Json j = json::parse(line, path.string());
    if (j.contains("loss_d")) steps.push_back(j.at("step").get<int64_t>());
  }
  return steps;
}

// 64 images in batches of 2 x 8 make 4 steps an epoch: 7 steps cross an epoch boundary, and the resume
// (after 3) lands mid-epoch. (Linear LR decay is left out: it decays to 0 at --steps, so a run of 3 steps
// resumed to 7 follows another schedule than one of 7, by design.) extra: flags of the variant.
void expect_exact_resume(const std::string& name, const std::vector<std::string>& extra, const std::string& kind) {
  const fs::path straight = temp_dir(name + "_straight"), split = temp_dir(name + "_split");
  const auto with_extra = [&](std::vector<std::string> args) {
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  train(parse_command("train", with_extra(tiny(straight, 7))));
  train(parse_command("train", with_extra(tiny(split, 3))));
  train(parse_command("train", {"--out", split.string(), "--resume", "--steps", "7", "--threads", "1"}));
  const Checkpoint a = load_checkpoint((straight / "checkpoint.safetensors").string(), kind);
  const Checkpoint b = load_checkpoint((split / "checkpoint.safetensors").string(), kind);
  EXPECT_EQ(a.position.step, 7);
  EXPECT_EQ(b.position.step, 7);
  EXPECT_EQ(a.position.epoch, b.position.epoch);
  EXPECT_EQ(a.position.batch, b.position.batch);
  EXPECT_EQ(a.position.rng.offset, b.position.rng.offset);
  ASSERT_EQ(a.model.size(), b.model.size());
  for (size_t i = 0; i < a.model.size(); ++i) {
    EXPECT_EQ(a.model[i].first, b.model[i].first);
    EXPECT_EQ(a.model[i].second.to(DType::Float64).to_vector<double>(), b.model[i].second.to(DType::Float64).to_vector<double>())
        << a.model[i].first;
  }
  ASSERT_EQ(a.optimizer.size(), b.optimizer.size());
  for (size_t i = 0; i < a.optimizer.size(); ++i) {
    EXPECT_EQ(a.optimizer[i].first, b.optimizer[i].first);
    EXPECT_EQ(a.optimizer[i].second.to_vector<double>(), b.optimizer[i].second.to_vector<double>()) << a.optimizer[i].first;
  }
  EXPECT_EQ(logged_steps(straight / "metrics.jsonl"), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(logged_steps(split / "metrics.jsonl"), logged_steps(straight / "metrics.jsonl"));
  // Both optimizers are in the checkpoint under their names.
  bool generator = false, discriminator = false;
  for (const auto& [name, t] : a.optimizer) {
    generator |= name.rfind("generator.", 0) == 0;
    discriminator |= name.rfind("discriminator.", 0) == 0;
  }
  EXPECT_TRUE(generator && discriminator);
}

TEST(GanTrain, ResumeIsBitIdenticalToAnUninterruptedRun) { expect_exact_resume("sngan", {}, "sngan"); }

TEST(GanTrain, ResumeIsBitIdenticalWithFeatureQuantizers) {
  // The dictionaries are buffers that every training forward updates: they must travel in the checkpoint.
  expect_exact_resume("fq", {"--fq-blocks", "0,2", "--fq-entries", "16", "--fq-form", "auxiliary"}, "fqgan-auxiliary");
}

TEST(GanTrain, LinearDecayReachesZeroAtTheLastStep) {
  const fs::path out = temp_dir("decay");
  std::vector<std::string> args = tiny(out, 4);
  args.insert(args.end(), {"--lr-decay", "linear", "--lr", "0.001"});
  train(parse_command("train", args));
  std::ifstream in(out / "metrics.jsonl");
  std::vector<double> rates;
  for (std::string line; std::getline(in, line);) {
    const Json j = json::parse(line, "metrics.jsonl");
    if (j.contains("lr")) rates.push_back(j.at("lr").get<double>());
  }
  // Update s (0-based) of T runs at lr * (1 - s / T).
  EXPECT_EQ(rates, (std::vector<double>{0.001, 0.00075, 0.0005, 0.00025}));
}

TEST(GanTrain, ShortTrainingImprovesFidOverTheInitialWeights) {
  const fs::path out = temp_dir("short");
  const std::vector<std::string> scoring = {"--count", "500", "--test-limit", "500", "--kid-subsets", "5",
                                            "--kid-subset-size", "500", "--threads", "1"};
  const std::vector<std::string> run = {
      "--out", out.string(), "--steps", "300", "--batch-size", "32", "--train-limit", "2048", "--test-limit", "500",
      "--latent", "32", "--g-channels", "64", "--d-channels", "16", "--eval-every", "0", "--checkpoint-every", "0",
      "--fid-samples", "500", "--kid-subsets", "5", "--seed", "1", "--threads", "1"};
  const double trained_fid = train(parse_command("train", run));
  std::vector<std::string> init_args = {"--out", out.string(), "--weights", (out / "init.safetensors").string()};
  init_args.insert(init_args.end(), scoring.begin(), scoring.end());
  const SampleScores initial = evaluate_checkpoint(parse_command("eval", init_args));
  std::vector<std::string> final_args = {"--out", out.string()};
  final_args.insert(final_args.end(), scoring.begin(), scoring.end());
  const SampleScores trained = evaluate_checkpoint(parse_command("eval", final_args));
  // eval scores the same samples the run's last evaluation did.
  EXPECT_NEAR(trained.quality.fid, trained_fid, 1e-9 * trained_fid);
  // Measured: 1449 at the initialization, 667 after the 300 steps.
  EXPECT_LT(trained.quality.fid, 0.75 * initial.quality.fid)
      << "FID-F " << trained.quality.fid << " after 300 steps, " << initial.quality.fid << " at the initialization";
  EXPECT_LT(trained.quality.kid.mean, initial.quality.kid.mean);
}

}  // namespace
}  // namespace trifecta::gan
