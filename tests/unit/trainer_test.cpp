// The training skeleton (models/common/trainer.h) on its own, with a model shaped like the binaries to come:
// a GAN-like pair of networks, each with its own optimizer, both in one checkpoint, fed by a loader that is
// not a DataLoader. Resuming is exact for both optimizers; a diverging evaluation or a diverged parameter
// stops the run without touching the last finite checkpoint.
#include <gtest/gtest.h>

#include <filesystem>

#include "autograd/ops.h"
#include "models/common/command_line.h"
#include "models/common/trainer.h"
#include "nn/linear.h"
#include "optim/adam.h"
#include "optim/sgd.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

class Pair : public nn::Module {
 public:
  explicit Pair(Generator* init) : nn::Module("Pair") {
    generator = register_module("generator", std::make_shared<nn::Linear>(3, 2, true, init));
    discriminator = register_module("discriminator", std::make_shared<nn::Linear>(2, 1, true, init));
  }
  std::shared_ptr<nn::Linear> generator, discriminator;
};

// Four batches of "real" points to an epoch, the same every epoch: the skeleton only asks for epoch(e, first).
struct PointLoader {
  std::vector<Tensor> batches;
  std::vector<Tensor> epoch(int64_t, int64_t first_batch) const {
    return {batches.begin() + first_batch, batches.end()};
  }
};

Flags train_flags(const std::vector<std::string>& args) {
  CommandLine cli("toy", "a toy model");
  Flags& train = cli.add_command("train", "train it");
  Trainer::add_flags(train, {.out = "runs/toy", .steps = 10, .checkpoint_every = 2, .log_every = 1, .eval_every = 3});
  std::vector<std::string> all = {"train"};
  all.insert(all.end(), args.begin(), args.end());
  return cli.parse(all)->flags;
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_trainer_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

// What a run ends with.
struct Outcome {
  Checkpoint checkpoint;
  Json last_evaluation;
};

// Trains the pair: a discriminator step (SGD with momentum) pulling D(real) to 1 and D(G(z)) to 0, then a
// generator step (Adam) pulling D(G(z)) to 1, z drawn from the run's noise generator. evaluation_value
// stands in for an evaluation's metric; poison_at sets a weight to NaN after that step (0: never).
Outcome train_pair(const std::vector<std::string>& args, double evaluation_value = 1.0, int64_t poison_at = 0) {
  Flags flags = train_flags(args);
  const RunFolder folder(flags, {});
  Generator init(5), noise(6), data(7);
  Pair pair(&init);
  optim::SGD d_optimizer(pair.discriminator->named_parameters(), {.lr = 0.05, .momentum = 0.9});
  optim::Adam g_optimizer(pair.generator->named_parameters(), {.lr = 0.01});
  PointLoader loader;
  for (int i = 0; i < 4; ++i) loader.batches.push_back(add(rand({8, 2}, DType::Float32, &data), 1.0));
  Trainer trainer(folder, flags,
                  {"toy-pair", &pair, {{"discriminator", &d_optimizer}, {"generator", &g_optimizer}}, &noise},
                  {.batches_per_epoch = 4, .unit = "points", .shown = {"d_loss", "g_loss"}});
  trainer.evaluate_with([&] { return Json{{"score", evaluation_value}}; });
  trainer.run(loader, [&](const Tensor& real) {
    const Tensor z = randn({8, 3}, DType::Float32, &noise);
    const Tensor fake = pair.generator->forward(z);
    const Tensor d_loss = add(mean(square(sub(pair.discriminator->forward(real), 1.0))),
                              mean(square(pair.discriminator->forward(fake.detach()))));
    d_optimizer.zero_grad();
    d_loss.backward();
    d_optimizer.step();
    const Tensor g_loss = mean(square(sub(pair.discriminator->forward(fake), 1.0)));
    g_optimizer.zero_grad();
    d_optimizer.zero_grad();
    g_loss.backward();
    g_optimizer.step();
    if (trainer.position().step + 1 == poison_at) {
      NoGradGuard no_grad;
      fill_(pair.generator->named_parameters().front().second, NAN);
    }
    return StepReport{8, {{"d_loss", d_loss.item<double>()}, {"g_loss", g_loss.item<double>()}}};
  });
  return {load_checkpoint(folder.checkpoint_path(), "toy-pair"), trainer.last_evaluation()};
}

void expect_same(const NamedTensors& a, const NamedTensors& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.to(DType::Float64).to_vector<double>(), b[i].second.to(DType::Float64).to_vector<double>())
        << a[i].first;
  }
}

TEST(Trainer, TwoOptimizersShareOneCheckpointAndResumeExactly) {
  const fs::path straight = temp_dir("straight"), split = temp_dir("split");
  const Outcome a = train_pair({"--out", straight.string(), "--steps", "7"});
  train_pair({"--out", split.string(), "--steps", "3"});
  const Outcome b = train_pair({"--out", split.string(), "--resume", "--steps", "7"});
  EXPECT_EQ(a.checkpoint.position.step, 7);
  EXPECT_EQ(b.checkpoint.position.step, 7);
  EXPECT_EQ(a.checkpoint.position.epoch, 1);  // 4 batches to an epoch
  EXPECT_EQ(a.checkpoint.position.batch, 3);
  expect_same(a.checkpoint.model, b.checkpoint.model);
  expect_same(a.checkpoint.optimizer, b.checkpoint.optimizer);
  bool generator_state = false, discriminator_state = false;
  for (const auto& [name, tensor] : a.checkpoint.optimizer) {
    generator_state |= name.rfind("generator.state.", 0) == 0;
    discriminator_state |= name.rfind("discriminator.state.", 0) == 0;
    EXPECT_TRUE(name.rfind("generator.", 0) == 0 || name.rfind("discriminator.", 0) == 0) << name;
  }
  EXPECT_TRUE(generator_state && discriminator_state);
  EXPECT_EQ(a.last_evaluation, (Json{{"score", 1.0}}));
}

TEST(Trainer, ANonFiniteEvaluationStopsTheRun) {
  const fs::path out = temp_dir("nan_evaluation");
  const std::string checkpoint = (out / "checkpoint.safetensors").string();
  testing::expect_error([&] { train_pair({"--out", out.string(), "--steps", "7"}, NAN); },
                        "toy train: the evaluation's score is NaN at step 3 (last finite checkpoint: " + checkpoint +
                            ", step 2); rerun with TRIFECTA_ANOMALY=1 to find the op");
  EXPECT_EQ(load_checkpoint(checkpoint, "toy-pair").position.step, 2);
}

// A step whose loss was finite can still leave NaN weights (an update that overflowed): the checkpoint due
// after it must not be written, since it would replace the last finite one.
TEST(Trainer, ParametersGoneNonFiniteAreNeverCheckpointed) {
  const fs::path out = temp_dir("nan_weights");
  const std::string checkpoint = (out / "checkpoint.safetensors").string();
  testing::expect_error([&] { train_pair({"--out", out.string(), "--steps", "7", "--eval-every", "0"}, 1.0, 4); },
                        "toy train: model tensor 'generator.weight' holds 6 NaN or infinite values at step 4",
                        "(last finite checkpoint: " + checkpoint + ", step 2)");
  const Checkpoint saved = load_checkpoint(checkpoint, "toy-pair");
  EXPECT_EQ(saved.position.step, 2);
  for (const auto& [name, tensor] : saved.model) EXPECT_EQ(count_nonfinite(tensor), 0) << name;
}

TEST(Trainer, ResumeNeedsStepsLeftAndTheRightModel) {
  const fs::path out = temp_dir("resume_checks");
  train_pair({"--out", out.string(), "--steps", "4"});
  testing::expect_error([&] { train_pair({"--out", out.string(), "--resume", "--steps", "3"}); },
                        "toy train: the checkpoint in " + out.string() + " is at step 4 and this run ends at step 3");
  testing::expect_error([&] { train_pair({"--out", out.string(), "--resume", "--seed", "9", "--steps", "6"}); },
                        "toy train --seed: the run in", "was trained with 0, not 9");
  // Neither refusal kept the folder locked: this process can still resume it.
  EXPECT_EQ(train_pair({"--out", out.string(), "--resume", "--steps", "6"}).checkpoint.position.step, 6);
}

}  // namespace
}  // namespace trifecta
