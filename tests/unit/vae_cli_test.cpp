// The vae binary as a user meets it: every kind of bad input ends with a clear message and a non-zero exit,
// each command takes only its own flags and lists them with --help, and a run folder is protected (no
// clobbering without --overwrite, one training process at a time, no debris from killed writes, flags that
// define a run kept on --resume) and a diverging run stops with a clear message. CTest passes the binary's
// path in TRIFECTA_VAE_BIN.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "autograd/ops.h"
#include "data/fashion_mnist.h"
#include "data/image_set.h"
#include "models/common/checkpoint.h"
#include "tests/harness/cli_run.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;

std::string vae_binary() { return testing::binary_from("TRIFECTA_VAE_BIN"); }
CliRun run_vae(const std::string& args) { return testing::run_binary(vae_binary(), args); }

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_vae_cli_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A small model on a small subset (the default dataset location), and a short, fast run of it.
const std::string kTinyModel = " --batch-size 16 --train-limit 64 --test-limit 32 --latent 4 --hidden 16 --threads 1";
const std::string kTiny = " --steps 6" + kTinyModel;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(VaeCli, HelpListsEachCommandsOwnFlags) {
  CliRun r = run_vae("train --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--kl-schedule"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--iwae-k"), std::string::npos) << "an eval flag in train's help:\n" << r.output;
  EXPECT_NE(r.output.find("latent dimensions (fixed for a run: --resume keeps it)"), std::string::npos) << r.output;
  r = run_vae("eval --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--iwae-k"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--test-limit"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--lr"), std::string::npos) << "a train flag in eval's help:\n" << r.output;
  r = run_vae("sample --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--threads"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("--steps"), std::string::npos) << r.output;
  r = run_vae("reconstruct --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--data-dir"), std::string::npos) << r.output;
  r = run_vae("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* command : {"train", "eval", "sample", "reconstruct"})
    EXPECT_NE(r.output.find(command), std::string::npos) << r.output;
}

TEST(VaeCli, UnknownFlagAndUnknownCommandFail) {
  CliRun r = run_vae("train --stepz 10");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown flag --stepz"), std::string::npos) << r.output;
  r = run_vae("fly");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown command 'fly'"), std::string::npos) << r.output;
  r = run_vae("train --steps ten");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--steps"), std::string::npos) << r.output;
  r = run_vae("train --out /tmp/x stray");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unexpected argument 'stray'"), std::string::npos) << r.output;
}

// Each command accepts only its own flags: another command's flag is named, with the command it belongs to.
TEST(VaeCli, EachCommandRejectsFlagsItDoesNotUse) {
  // Each command also gets a short run's flags, so that one wrongly accepting the flag ends quickly.
  const std::string out = " --out " + temp_dir("own_flags").string();
  const struct {
    std::string args;
    const char* flag;
  } cases[] = {{"sample --lr 5" + out, "--lr"},
               {"train --iwae-k 5 --steps 1" + out + kTinyModel, "--iwae-k"},
               {"eval --steps 5" + out, "--steps"},
               {"reconstruct --latent 3" + out, "--latent"},
               {"sample --test-limit 3" + out, "--test-limit"},
               {"eval --resume" + out, "--resume"},
               {"sample --seed=4" + out, "--seed"}};
  for (const auto& c : cases) {
    const CliRun r = run_vae(c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(std::string(c.flag) + " is not a flag of"), std::string::npos) << c.args << "\n" << r.output;
  }
  const CliRun r = run_vae("eval --no-such-flag" + out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown flag --no-such-flag"), std::string::npos) << r.output;
}

TEST(VaeCli, WrongDeviceFails) {
  CliRun r = run_vae("train --device tpu" + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("cannot parse 'tpu'"), std::string::npos) << r.output;
  if (!cuda_available()) {
    r = run_vae("train --device cuda --out " + temp_dir("cuda").string() + kTiny);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.output.find("--device"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("cuda was asked for"), std::string::npos) << r.output;
  }
}

TEST(VaeCli, MissingDatasetFails) {
  const fs::path empty = temp_dir("nodata");
  const CliRun r = run_vae("train --data-dir " + empty.string() + " --out " + temp_dir("out1").string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("train-images-idx3-ubyte.gz"), std::string::npos) << r.output;
}

TEST(VaeCli, TruncatedDatasetFails) {
  const fs::path dir = temp_dir("truncated");
  const fs::path source = fashion_mnist_directory();  // $TRIFECTA_FASHION_MNIST where the package is not installed
  for (const char* name : {"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    fs::copy_file(source / name, dir / name);
  // A valid gzip stream whose IDX body stops after 10 of the 60000 images the header announces.
  gzFile in = gzopen((source / "train-images-idx3-ubyte.gz").c_str(), "rb");
  ASSERT_NE(in, nullptr);
  std::string head(16 + 10 * 784, '\0');
  ASSERT_EQ(gzread(in, head.data(), static_cast<unsigned>(head.size())), static_cast<int>(head.size()));
  gzclose(in);
  gzFile out = gzopen((dir / "train-images-idx3-ubyte.gz").c_str(), "wb");
  gzwrite(out, head.data(), static_cast<unsigned>(head.size()));
  gzclose(out);
  const CliRun r = run_vae("train --data-dir " + dir.string() + " --out " + temp_dir("out2").string() +
                        " --steps 2 --batch-size 4 --latent 4 --hidden 8");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("truncated"), std::string::npos) << r.output;
}

TEST(VaeCli, CorruptCheckpointFails) {
  const fs::path out = temp_dir("corrupt");
  std::ofstream(out / "checkpoint.safetensors") << "not a checkpoint at all";
  CliRun r = run_vae("train --resume --out " + out.string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("checkpoint.safetensors"), std::string::npos) << r.output;
  r = run_vae("eval --out " + out.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("checkpoint.safetensors"), std::string::npos) << r.output;
}

TEST(VaeCli, EvalRefusesAnImpossibleSampleCount) {
  const CliRun r = run_vae("eval --iwae-k 0 --out " + temp_dir("iwae_zero").string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vae eval --iwae-k: expects 1 to 100000"), std::string::npos) << r.output;
}

TEST(VaeCli, ResumingAsAnotherModelFails) {
  const fs::path out = temp_dir("other");
  CliRun r = run_vae("train --architecture mlp --out " + out.string() + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The run is an mlp; asking to resume it as a conv model must refuse, naming the flag and both values.
  r = run_vae("train --resume --architecture conv --steps 8 --out " + out.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--architecture"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("trained with mlp, not conv"), std::string::npos) << r.output;
}

// Flags that define a run (the model, the data order) cannot change on --resume: a clear refusal, where the
// batch size and seed used to change the data silently and the latent size failed deep in load_state_dict.
TEST(VaeCli, ResumeRefusesToChangeAFlagThatDefinesTheRun) {
  const fs::path out = temp_dir("keep");
  ASSERT_EQ(run_vae("train --out " + out.string() + kTiny).exit_code, 0);
  const std::string before = read_file(out / "checkpoint.safetensors");
  const struct {
    const char* flag;
    const char* message;
  } cases[] = {{"--latent 8", "trained with 4, not 8"},
               {"--batch-size 32", "trained with 16, not 32"},
               {"--seed 5", "trained with 0, not 5"},
               {"--train-limit 80", "trained with 64, not 80"},
               {"--likelihood gaussian", "trained with bernoulli, not gaussian"}};
  for (const auto& c : cases) {
    const CliRun r = run_vae("train --resume --steps 8 --out " + out.string() + " " + c.flag);
    EXPECT_NE(r.exit_code, 0) << c.flag;
    const std::string flag_name = std::string(c.flag).substr(0, std::string(c.flag).find(' '));
    EXPECT_NE(r.output.find("vae train " + flag_name + ": the run in"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
  EXPECT_EQ(read_file(out / "checkpoint.safetensors"), before) << "a refused resume changed the checkpoint";
  // The same value again is no conflict.
  const CliRun r = run_vae("train --resume --steps 8 --latent 4 --batch-size 16 --out " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(VaeCli, TrainingIntoAFolderHoldingARunRequiresResumeOrOverwrite) {
  const fs::path out = temp_dir("clobber");
  ASSERT_EQ(run_vae("train --out " + out.string() + kTiny).exit_code, 0);
  const std::string checkpoint = read_file(out / "checkpoint.safetensors");
  CliRun r = run_vae("train --out " + out.string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("already holds a run"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--overwrite"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(out / "checkpoint.safetensors"), checkpoint) << "the refused run touched the checkpoint";
  r = run_vae("train --resume --overwrite --out " + out.string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("give one of them"), std::string::npos) << r.output;
  // --overwrite starts afresh: a 3-step run leaves a 3-step checkpoint and metrics of its own steps only.
  r = run_vae("train --overwrite --log-every 1 --out " + out.string() + " --steps 3" + kTinyModel);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(load_checkpoint((out / "checkpoint.safetensors").string(), "vae-conv-bernoulli").position.step, 3);
  std::ifstream metrics(out / "metrics.jsonl");
  int64_t lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, 4) << "three training lines and one evaluation";
}

// Starts `vae args` in the background (output discarded) and returns its pid.
pid_t start_vae(const std::string& args) {
  const std::string command = "exec " + vae_binary() + " " + args + " >/dev/null 2>&1";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// One training process per folder: a second one refuses, naming the first; killing the first (SIGKILL, no
// chance to clean up) frees the folder, and the next run removes the temporary file a killed write left.
TEST(VaeCli, ASecondRunOnTheSameFolderRefusesUntilTheFirstIsKilled) {
  const fs::path out = temp_dir("lock");
  const pid_t first = start_vae("train --steps 1000000 --checkpoint-every 2 --out " + out.string() + kTinyModel);
  ASSERT_GT(first, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(out / "checkpoint.safetensors") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(out / "checkpoint.safetensors")) << "the first run never wrote a checkpoint";

  for (const char* flags : {" --resume", " --overwrite"}) {
    const CliRun r = run_vae("train --steps 1 --out " + out.string() + flags + kTinyModel);
    EXPECT_NE(r.exit_code, 0) << flags;
    EXPECT_NE(r.output.find("another training run (pid " + std::to_string(first) + ") is using"), std::string::npos)
        << flags << "\n" << r.output;
  }
  EXPECT_TRUE(fs::exists(out / "checkpoint.safetensors")) << "a refused --overwrite deleted the run";

  ASSERT_EQ(::kill(first, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(first, &status, 0), first);
  // What write_file_atomically leaves when its process dies between creating and renaming the temporary.
  const fs::path debris = out / ("checkpoint.safetensors.tmp." + std::to_string(first));
  std::ofstream(debris) << "half a checkpoint";
  const int64_t step = load_checkpoint((out / "checkpoint.safetensors").string(), "vae-conv-bernoulli").position.step;
  const CliRun r = run_vae("train --resume --steps " + std::to_string(step + 2) + " --out " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(debris)) << r.output;
  EXPECT_NE(r.output.find("left by a write that was killed"), std::string::npos) << r.output;
  EXPECT_EQ(load_checkpoint((out / "checkpoint.safetensors").string(), "vae-conv-bernoulli").position.step, step + 2);
}

// A learning rate of 1e5 makes the first Adam step throw the weights to about 1e5 (Adam's steps have the
// size of the learning rate whatever the gradient), and the next loss overflows: the run must stop there,
// saying so, with its last finite checkpoint intact, rather than fail writing NaN into metrics.jsonl.
TEST(VaeCli, ANonFiniteLossStopsTrainingWithAClearMessage) {
  const fs::path out = temp_dir("nan");
  const CliRun r = run_vae("train --lr 1e5 --steps 20 --checkpoint-every 1 --log-every 1 --out " + out.string() + kTinyModel);
  EXPECT_NE(r.exit_code, 0);
  const size_t at = r.output.find("loss is NaN at step ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const int64_t step = std::stoll(r.output.substr(at + std::string("loss is NaN at step ").size()));
  const std::string path = (out / "checkpoint.safetensors").string();
  EXPECT_NE(r.output.find("(last finite checkpoint: " + path + ", step " + std::to_string(step - 1) + ")"),
            std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rerun with TRIFECTA_ANOMALY=1 to find the op"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(std::to_string(step) + "/20  loss nan"), std::string::npos) << "the progress line:\n" << r.output;
  EXPECT_EQ(r.output.find("non-finite number"), std::string::npos) << r.output;
  const Checkpoint checkpoint = load_checkpoint(path, "vae-conv-bernoulli");
  EXPECT_EQ(checkpoint.position.step, step - 1);
  for (const auto& [name, tensor] : checkpoint.model) EXPECT_EQ(count_nonfinite(tensor), 0) << name;
}

TEST(VaeCli, TrainLeavesImagesMetricsAndACheckpointThatEvalReads) {
  const fs::path out = temp_dir("train");
  CliRun r = run_vae("train --out " + out.string() + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"samples.png", "reconstructions.png", "metrics.jsonl", "checkpoint.safetensors", "init.safetensors"})
    EXPECT_TRUE(fs::exists(out / name)) << name;
  r = run_vae("eval --iwae-k 4 --test-limit 32 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("negative ELBO"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("IWAE NLL"), std::string::npos) << r.output;
  // sample's default is the grid training drew, from the same prior draws: the same bytes.
  const std::string trained_grid = read_file(out / "samples.png");
  fs::remove(out / "samples.png");
  r = run_vae("sample --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_file(out / "samples.png"), trained_grid);
}

// sample --count N --format safetensors|npy writes [N, 1, 28, 28] in [0, 1] that the image-quality metrics
// read (data/image_set.h); both formats hold the same images.
TEST(VaeCli, SampleWritesImageSetsForTheMetrics) {
  const fs::path out = temp_dir("sample_formats");
  ASSERT_EQ(run_vae("train --out " + out.string() + kTiny).exit_code, 0);
  for (const char* format : {"safetensors", "npy"}) {
    const CliRun r = run_vae(std::string("sample --count 70 --format ") + format + " --out " + out.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("wrote 70 samples to " + (out / "samples.").string() + format), std::string::npos) << r.output;
  }
  const Tensor from_safetensors = load_image_set((out / "samples.safetensors").string(), {.tensor = "images"});
  const Tensor from_npy = load_image_set((out / "samples.npy").string());
  EXPECT_EQ(from_safetensors.shape(), (Shape{70, 1, 28, 28}));
  EXPECT_EQ(from_safetensors.to_vector<float>(), from_npy.to_vector<float>());
  // The prior draws do not depend on the count: the first 5 of 70 are the 5 of --count 5 (up to BLAS
  // blocking, which may differ with the batch size).
  ASSERT_EQ(run_vae("sample --count 5 --format npy --out " + out.string()).exit_code, 0);
  const std::vector<float> five = load_image_set((out / "samples.npy").string()).to_vector<float>();
  const std::vector<float> first = from_npy.narrow(0, 0, 5).contiguous().to_vector<float>();
  ASSERT_EQ(five.size(), first.size());
  for (size_t i = 0; i < five.size(); ++i) ASSERT_NEAR(five[i], first[i], 1e-5) << i;
  CliRun r = run_vae("sample --format jpeg --out " + out.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vae sample --format: expects png, safetensors or npy, got 'jpeg'"), std::string::npos) << r.output;
  r = run_vae("sample --count 0 --out " + out.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vae sample --count: expects 1 to 1000000 images, got 0"), std::string::npos) << r.output;
}

// --threads is read by every command (it was ignored by sample and reconstruct): an impossible count fails.
// The Two-Stage VAE's second stage needs a stage-1 run: without --from, or with a folder that holds none,
// the binary says so and exits non-zero (tests/unit/vae_two_stage_test.cpp covers the other wrong inputs).
TEST(VaeCli, SecondStageWithoutAFirstStageFails) {
  const fs::path out = temp_dir("stage2_cli");
  CliRun r = run_vae("train --stage 2 --out " + (out / "run").string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vae train --stage 2: needs --from"), std::string::npos) << r.output;
  r = run_vae("train --stage 2 --from " + (out / "nothing").string() + " --out " + (out / "run2").string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("no checkpoint at"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stage-1 VAE run"), std::string::npos) << r.output;
  r = run_vae("train --architecture infogen --out " + (out / "run3").string() + kTiny);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("expects conv, infogan or mlp, got 'infogen'"), std::string::npos) << r.output;
}

TEST(VaeCli, EveryCommandAppliesThreads) {
  const fs::path out = temp_dir("threads");
  ASSERT_EQ(run_vae("train --out " + out.string() + kTiny).exit_code, 0);
  for (const char* command : {"sample", "reconstruct", "eval"}) {
    const CliRun r = run_vae(std::string(command) + " --threads 5000 --out " + out.string());
    EXPECT_NE(r.exit_code, 0) << command;
    EXPECT_NE(r.output.find("--threads"), std::string::npos) << command << "\n" << r.output;
  }
  const CliRun r = run_vae("reconstruct --threads 1 --out " + out.string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// eval's --test-limit is its own (all test images by default), not the one the training run used.
TEST(VaeCli, EvalDoesNotInheritTheTrainingRunsTestLimit) {
  const fs::path out = temp_dir("eval_limit");
  ASSERT_EQ(run_vae("train --architecture mlp --out " + out.string() + kTiny).exit_code, 0);  // --test-limit 32
  CliRun r = run_vae("eval --iwae-k 1 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test images          10000"), std::string::npos) << r.output;
  r = run_vae("eval --iwae-k 1 --test-limit 50 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test images          50\n"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace trifecta
