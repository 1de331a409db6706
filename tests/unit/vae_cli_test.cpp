// The vae binary as a user meets it: every kind of bad input ends with a clear message and a non-zero exit,
// and --help works. CTest passes the binary's path in TRIFECTA_VAE_BIN.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "data/fashion_mnist.h"
#include "models/common/checkpoint.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr together
};

CliRun run_vae(const std::string& args) {
  const char* binary = std::getenv("TRIFECTA_VAE_BIN");
  EXPECT_NE(binary, nullptr) << "TRIFECTA_VAE_BIN is not set; run through ctest";
  if (!binary) return {-1, ""};
  const std::string command = std::string(binary) + " " + args + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  while (size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_vae_cli_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A short, fast training run on a small subset (the default dataset location).
const std::string kTiny = " --steps 6 --batch-size 16 --train-limit 64 --test-limit 32 --latent 4 --hidden 16 --threads 1";

TEST(VaeCli, HelpListsTheFlagsAndSucceeds) {
  const CliRun r = run_vae("train --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("--kl-schedule"), std::string::npos);
  EXPECT_NE(r.output.find("--resume"), std::string::npos);
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

TEST(VaeCli, CheckpointOfAnotherModelFails) {
  const fs::path out = temp_dir("other");
  CliRun r = run_vae("train --architecture mlp --out " + out.string() + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The checkpoint says mlp; asking to resume it as a conv model must refuse, naming both.
  r = run_vae("train --resume --architecture conv --steps 8 --out " + out.string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("vae-mlp-bernoulli"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("vae-conv-bernoulli"), std::string::npos) << r.output;
}

TEST(VaeCli, TrainLeavesImagesMetricsAndACheckpointThatEvalReads) {
  const fs::path out = temp_dir("train");
  CliRun r = run_vae("train --out " + out.string() + kTiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"samples.png", "reconstructions.png", "metrics.jsonl", "checkpoint.safetensors", "init.safetensors"})
    EXPECT_TRUE(fs::exists(out / name)) << name;
  r = run_vae("eval --iwae-k 4 --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("negative ELBO"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("IWAE NLL"), std::string::npos) << r.output;
  fs::remove(out / "samples.png");
  r = run_vae("sample --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "samples.png"));
}

}  // namespace
}  // namespace trifecta
