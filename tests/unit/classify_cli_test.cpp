// The classify binary as a user meets it: each command lists and accepts only its own flags, predict prints
// one class per image of an IDX file or a PNG, features writes the FID-F network's features (the same as the
// C++ API's) to a safetensors file that names the network's version, and bad input ends with a clear message
// and a non-zero exit. CTest passes the binary's path in TRIFECTA_CLASSIFY_BIN.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/fashion_mnist.h"
#include "data/png.h"
#include "models/classify/feature_net.h"
#include "tensor/safetensors.h"
#include "tests/harness/cli_run.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

using testing::CliRun;

CliRun run_classify(const std::string& args) {
  return testing::run_binary(testing::binary_from("TRIFECTA_CLASSIFY_BIN"), args);
}

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_classify_cli_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The first n test images as an uncompressed IDX file.
fs::path write_test_idx(const fs::path& dir, int64_t n) {
  const FashionMnistBytes test = read_fashion_mnist_bytes(FashionMnistSplit::Test, {.limit = n});
  std::string idx = {0, 0, 8, 3, 0, 0, 0, static_cast<char>(n), 0, 0, 0, 28, 0, 0, 0, 28};
  idx.append(reinterpret_cast<const char*>(test.pixels.data()), test.pixels.size());
  const fs::path path = dir / "images.idx";
  std::ofstream(path, std::ios::binary) << idx;
  return path;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ClassifyCli, EachCommandTakesOnlyItsOwnFlags) {
  CliRun r = run_classify("train --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r.output, "--optimizer")) << r.output;
  EXPECT_TRUE(has(r.output, "amsgrad")) << r.output;
  EXPECT_FALSE(has(r.output, "--input")) << r.output;
  r = run_classify("features --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(has(r.output, "--feature-net")) << r.output;
  r = run_classify("predict --lr 5 --input x");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "--lr")) << r.output;
  r = run_classify("classify-everything");
  EXPECT_NE(r.exit_code, 0);
}

TEST(ClassifyCli, PredictAndFeaturesWithTheFeatureNetwork) {
  const fs::path dir = temp_dir("predict");
  const fs::path idx = write_test_idx(dir, 5);
  const FashionMnist test = load_fashion_mnist(FashionMnistSplit::Test, {.limit = 5});
  CliRun r = run_classify("predict --feature-net --device cpu --input " + idx.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A header and one line per image: index, class, name, probability; the first five test images are easy.
  std::istringstream lines(r.output);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "image\tclass\tname\tprobability");
  const auto& names = fashion_mnist_class_names();
  for (int64_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(std::getline(lines, line)) << r.output;
    const int64_t label = test.labels.to_vector<int64_t>()[i];
    EXPECT_EQ(line.rfind(std::to_string(i) + "\t" + std::to_string(label) + "\t" + names[label] + "\t", 0), 0u) << line;
  }
  // A PNG of the first image.
  const FashionMnistBytes bytes = read_fashion_mnist_bytes(FashionMnistSplit::Test, {.limit = 1});
  write_png((dir / "first.png").string(), bytes.pixels.data(), 28, 28, 1);
  r = run_classify("predict --feature-net --device cpu --input " + (dir / "first.png").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "0\t9\tAnkle boot\t")) << r.output;

  // features: the same numbers as the C++ API, and the version in the file.
  const fs::path out = dir / "features.safetensors";
  r = run_classify("features --feature-net --device cpu --input " + idx.string() + " --output " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const TensorFile file = load_safetensors(out.string());
  EXPECT_EQ(file.metadata.at("feature_net_version"), classify::kFeatureNetVersion);
  const classify::FeaturesAndProbabilities expected = classify::FeatureNet().compute(test.images);
  EXPECT_EQ(file.get("features").shape(), (Shape{5, 128}));
  EXPECT_EQ(file.get("features").to_vector<float>(), expected.features.to_vector<float>());
  EXPECT_EQ(file.get("probabilities").to_vector<float>(), expected.probabilities.to_vector<float>());
}

TEST(ClassifyCli, ARunsCheckpointServesEveryReadingCommand) {
  const fs::path dir = temp_dir("run");
  const fs::path run = dir / "run";
  const std::string tiny = " --device cpu --threads 1 --architecture mlp --hidden1 16 --hidden2 8 --batch-size 16 "
                           "--train-limit 64 --test-limit 32 --steps 4";
  CliRun r = run_classify("train --out " + run.string() + tiny);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // A second run into the same folder needs --resume or --overwrite.
  r = run_classify("train --out " + run.string() + tiny);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "--resume")) << r.output;
  r = run_classify("eval --device cpu --test-limit 32 --out " + run.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(has(r.output, "test accuracy")) << r.output;
  const fs::path idx = write_test_idx(dir, 3);
  r = run_classify("features --device cpu --out " + run.string() + " --input " + idx.string() + " --output " +
                   (dir / "f.safetensors").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const TensorFile file = load_safetensors((dir / "f.safetensors").string());
  EXPECT_EQ(file.get("features").shape(), (Shape{3, 8}));
  EXPECT_EQ(file.metadata.count("feature_net_version"), 0u);
  // export writes the model alone, which the reading commands accept as --checkpoint.
  r = run_classify("export --out " + run.string() + " --to " + (dir / "model.safetensors").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LT(fs::file_size(dir / "model.safetensors"), fs::file_size(run / "checkpoint.safetensors"));
  r = run_classify("predict --device cpu --checkpoint " + (dir / "model.safetensors").string() + " --input " + idx.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Bad inputs: a corrupt checkpoint, an image of another size, a text file as images.
  std::ofstream(dir / "corrupt.safetensors") << "not a checkpoint";
  r = run_classify("predict --device cpu --checkpoint " + (dir / "corrupt.safetensors").string() + " --input " +
                   idx.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "corrupt.safetensors")) << r.output;
  const std::vector<uint8_t> pixels(20 * 20, 128);
  write_png((dir / "small.png").string(), pixels.data(), 20, 20, 1);
  r = run_classify("predict --device cpu --out " + run.string() + " --input " + (dir / "small.png").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "20x20")) << r.output;
  std::ofstream(dir / "text.idx") << "hello";
  r = run_classify("predict --device cpu --out " + run.string() + " --input " + (dir / "text.idx").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.output, "text.idx")) << r.output;
}

}  // namespace
}  // namespace trifecta
