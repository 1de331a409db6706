// The gan binary as a user meets it: each command lists its own flags, bad flag values and missing or foreign
// checkpoints end with a clear message naming what was wrong and a non-zero exit, flags that define a run are
// kept on --resume, and sample writes what classify fid reads. CTest passes the binary's path in TRIFECTA_GAN_BIN.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "autograd/ops.h"
#include "data/image_set.h"
#include "models/common/checkpoint.h"
#include "tests/harness/cli_run.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;

CliRun run_gan(const std::string& args) { return testing::run_binary(testing::binary_from("TRIFECTA_GAN_BIN"), args); }

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_gan_cli_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kTiny = " --steps 3 --batch-size 8 --train-limit 32 --test-limit 32 --latent 8 --g-channels 16"
                          " --d-channels 4 --fid-samples 16 --kid-subsets 2 --threads 1 --eval-every 0";

void expect_failure(const std::string& args, const std::string& message) {
  const CliRun r = run_gan(args);
  EXPECT_NE(r.exit_code, 0) << args << "\n" << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos) << args << "\nexpected '" << message << "' in:\n" << r.output;
}

TEST(GanCli, HelpListsEachCommandsOwnFlags) {
  CliRun r = run_gan("train --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--n-dis", "--betas", "--ema-decay", "--lr-decay", "--fid-samples", "--resume"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag << "\n" << r.output;
  EXPECT_EQ(r.output.find("--format"), std::string::npos) << "a sample flag in train's help:\n" << r.output;
  r = run_gan("eval --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--weights"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--n-dis"), std::string::npos) << r.output;
  r = run_gan("sample --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--format"), std::string::npos) << r.output;
  r = run_gan("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* command : {"train", "sample", "eval"}) EXPECT_NE(r.output.find(command), std::string::npos) << r.output;
}

TEST(GanCli, BadFlagValuesAreClearErrors) {
  const fs::path dir = temp_dir("bad_flags");
  const std::string out = " --out " + (dir / "run").string();
  expect_failure("train" + out + kTiny + " --betas 0.5", "--betas");
  expect_failure("train" + out + kTiny + " --betas 0.5,1.5", "--betas");
  expect_failure("train" + out + kTiny + " --n-dis 0", "--n-dis");
  expect_failure("train" + out + kTiny + " --lr-decay cosine", "--lr-decay");
  expect_failure("train" + out + kTiny + " --ema-decay 1", "--ema-decay");
  expect_failure("train" + out + kTiny + " --g-channels 6", "--g-channels");
  expect_failure("train" + out + kTiny + " --lr 0", "--lr");
  expect_failure("train" + out + kTiny + " --batch-size 64", "--batch-size");  // more than the 32 images
  expect_failure("train" + out + kTiny + " --fid-samples 1", "--fid-samples");
  expect_failure("train" + out + kTiny + " --no-such-flag 3", "no-such-flag");
  expect_failure("train" + out + kTiny + " --fq-blocks 1,x", "--fq-blocks");
  expect_failure("train" + out + kTiny + " --fq-blocks 3", "--fq-blocks");
  expect_failure("train" + out + kTiny + " --fq-blocks 1 --fq-form both", "--fq-form");
  expect_failure("train" + out + kTiny + " --fq-blocks 1 --fq-decay 1", "--fq-decay");
  expect_failure("train" + out + kTiny + " --fq-blocks 1 --fq-entries 0", "--fq-entries");
  expect_failure("sample" + out, "no checkpoint at");
  expect_failure("eval" + out, "no checkpoint at");
}

TEST(GanCli, ForeignCheckpointsAndChangedArchitecturesAreRefused) {
  const fs::path dir = temp_dir("foreign");
  // A checkpoint another model wrote.
  Checkpoint foreign;
  foreign.model_kind = "vae-conv-bernoulli";
  foreign.model = {{"w", zeros({2})}};
  foreign.config = Json::object();
  save_checkpoint((dir / "checkpoint.safetensors").string(), foreign);
  expect_failure("sample --out " + dir.string(), "vae-conv-bernoulli");
  expect_failure("eval --out " + dir.string(), "sngan");

  const fs::path run = temp_dir("run");
  CliRun r = run_gan("train --out " + run.string() + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  expect_failure("train --out " + run.string() + " --resume --steps 5 --g-channels 32", "--g-channels");
  expect_failure("train --out " + run.string() + " --resume --steps 5 --n-dis 2", "--n-dis");
  expect_failure("train --out " + run.string() + " --resume --steps 5 --fq-blocks 1", "--fq-blocks");
  expect_failure("eval --out " + run.string() + " --weights " + (run / "missing.safetensors").string(), "--weights");
  expect_failure("sample --out " + run.string() + " --format jpg", "--format");
  expect_failure("sample --out " + run.string() + " --count 0", "--count");
}

TEST(GanCli, SampleWritesWhatClassifyFidReadsAndEvalScoresIt) {
  const fs::path run = temp_dir("sample");
  CliRun r = run_gan("train --out " + run.string() + kTiny + " --ema-decay 0.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* format : {"safetensors", "npy"}) {
    r = run_gan("sample --out " + run.string() + " --count 20 --threads 1 --format " + format);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const Tensor images = load_image_set((run / (std::string("samples.") + format)).string(), {});
    EXPECT_EQ(images.shape(), (Shape{20, 1, 28, 28}));
  }
  r = run_gan("sample --out " + run.string() + " --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run / "samples.png"));
  r = run_gan("eval --out " + run.string() + " --count 40 --test-limit 40 --kid-subsets 2 --kid-subset-size 20 --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json report = json::parse(r.output, "gan eval --json");
  EXPECT_EQ(report.at("sample_images").get<int64_t>(), 40);
  EXPECT_EQ(report.at("kid_subset_size").get<int64_t>(), 20);
  EXPECT_GT(report.at("fid").get<double>(), 0.0);
}

}  // namespace
}  // namespace trifecta
