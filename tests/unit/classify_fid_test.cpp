// `classify fid` (models/classify/fid_command.h): a set scored against itself has FID-F 0 and a KID-F near 0
// next to a set that differs; the binary, run as a user runs it on small sets (test images against train
// images, and against a .npy the test writes), prints exactly the report score_samples computes; and bad
// paths, shapes, values and flags end with a message naming what is wrong. CTest passes the binary's path in
// TRIFECTA_CLASSIFY_BIN.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "models/classify/fid_command.h"
#include "tensor/error.h"
#include "tensor/json.h"
#include "tests/harness/cli_run.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

using classify::FeatureNet;
using classify::score_samples;
using image_metrics::ImageQuality;
using image_metrics::KidOptions;
using testing::CliRun;

constexpr int64_t kImages = 600;

CliRun run_classify(const std::string& args) {
  return testing::run_binary(testing::binary_from("TRIFECTA_CLASSIFY_BIN"), args);
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("trifecta_classify_fid_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Tensor test_images(int64_t n) { return load_fashion_mnist(FashionMnistSplit::Test, {.limit = n}).images; }

// images moved `columns` pixels to the right, zeros entering on the left: the same garments, off-center,
// which the network has never seen and a good generator would not draw.
Tensor shifted(const Tensor& images, int64_t columns) {
  Tensor out = images.clone();
  float* data = out.data<float>();
  for (int64_t row = 0; row < images.size(0) * 28; ++row) {
    float* line = data + row * 28;
    for (int64_t c = 27; c >= 0; --c) line[c] = c >= columns ? line[c - columns] : 0.0f;
  }
  return out;
}

TEST(ClassifyFid, ASetAgainstItselfHasFidZeroAndKidNearZero) {
  const FeatureNet net;
  const Tensor images = test_images(kImages);
  // One subset of every image: both draws are then the whole set, so nothing but the set itself varies.
  const KidOptions whole = {.subsets = 1, .subset_size = kImages, .seed = 0};
  const ImageQuality self = score_samples(net, images, images, whole, 128);
  const ImageQuality other = score_samples(net, images, shifted(images, 4), whole, 128);
  EXPECT_EQ(self.reference_images, kImages);
  EXPECT_EQ(self.features, 128);
  EXPECT_NEAR(self.fid, 0.0, 1e-6);
  EXPECT_GT(other.fid, 100.0);
  // The unbiased MMD^2 of a set with itself is (2/m)(mean off-diagonal k - mean diagonal k): a little below 0,
  // shrinking as 1/m, where a different set gives a large positive value.
  EXPECT_LE(self.kid.mean, 0.0);
  EXPECT_GT(other.kid.mean, 0.0);
  EXPECT_LT(std::abs(self.kid.mean), 0.1 * other.kid.mean) << self.kid.mean << " vs " << other.kid.mean;
}

TEST(ClassifyFid, ScoreSamplesRefusesSetsItCannotScore) {
  const FeatureNet net;
  const Tensor images = test_images(10);
  const KidOptions kid = {.subsets = 2, .subset_size = 5, .seed = 0};
  try {
    score_samples(net, images, images.narrow(0, 0, 1), kid, 100);
    ADD_FAILURE() << "one sample image was scored";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "--samples")) << e.what();
    EXPECT_TRUE(has(e.what(), "at least 2")) << e.what();
  }
  try {
    score_samples(net, images, images, {.subsets = 2, .subset_size = 11, .seed = 0}, 100);
    ADD_FAILURE() << "a KID subset larger than the sets was drawn";
  } catch (const Error& e) {
    EXPECT_TRUE(has(e.what(), "--kid-subset-size 10 or less")) << e.what();
  }
  EXPECT_THROW(score_samples(net, images, images, kid, 0), Error);
  Tensor negative = images.clone();
  negative.data<float>()[5] = -0.5f;
  EXPECT_THROW(score_samples(net, images, negative, kid, 100), Error);
}

TEST(ClassifyFid, TheCommandPrintsWhatScoreSamplesComputes) {
  const fs::path dir = temp_dir("end_to_end");
  const Tensor reference = test_images(kImages);
  const Tensor samples = shifted(load_fashion_mnist(FashionMnistSplit::Train, {.limit = kImages}).images, 2);
  const fs::path npy = dir / "samples.npy";
  write_npy(npy.string(), samples);
  const KidOptions kid = {.subsets = 10, .subset_size = 300, .seed = 7};
  // Another batch size than the command's 500, which bounds memory and changes nothing else.
  const ImageQuality expected = score_samples(FeatureNet(), reference, samples, kid, 128);

  CliRun r = run_classify("fid --reference test --reference-limit 600 --samples " + npy.string() +
                          " --kid-subsets 10 --kid-subset-size 300 --kid-seed 7 --threads 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json report = json::parse(r.output, "classify fid --json");
  // The features are float32 and the thread count (this process uses every core, the command one) changes
  // their rounding, so the figures agree to float32 precision rather than bit for bit.
  constexpr double kFloat32 = 1e-6;
  EXPECT_NEAR(report.at("fid").get<double>(), expected.fid, kFloat32 * expected.fid);
  EXPECT_NEAR(report.at("kid_mean").get<double>(), expected.kid.mean, kFloat32 * std::abs(expected.kid.mean));
  EXPECT_NEAR(report.at("kid_std").get<double>(), expected.kid.std, kFloat32 * expected.kid.std);
  EXPECT_NEAR(report.at("entropy_conditional").get<double>(), expected.labels.conditional, kFloat32);
  EXPECT_EQ(report.at("sample_images").get<int64_t>(), kImages);
  EXPECT_EQ(report.at("kid_subsets").get<int64_t>(), 10);
  EXPECT_EQ(report.at("feature_net").get<std::string>(), classify::kFeatureNetVersion);
  EXPECT_EQ(report.at("feature_net_sha256").get<std::string>(), classify::kFeatureNetSha256);

  // Text: every figure, each set's size and the network's version. Test against train images: real images of
  // the same garments, far closer than the shifted ones.
  r = run_classify("fid --reference test --reference-limit 600 --samples train --samples-limit 600 "
                   "--kid-subsets 10 --kid-subset-size 300 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* part : {"FID-F", "KID-F", "+-", "H(y|x)", "H(y) ", "IS-F", "test: 600 images",
                           "train: 600 images", classify::kFeatureNetVersion})
    EXPECT_TRUE(has(r.output, part)) << part << " missing from\n" << r.output;
  const double fid_train = std::stod(r.output.substr(r.output.find("FID-F") + 5));
  EXPECT_GT(fid_train, 0.0);
  EXPECT_LT(fid_train, 0.2 * expected.fid) << r.output;
  fs::remove_all(dir);
}

TEST(ClassifyFid, BadInputEndsWithAClearMessage) {
  const fs::path dir = temp_dir("bad_input");
  write_npy((dir / "flat.npy").string(), test_images(4).reshape({4, 784}));
  std::ofstream(dir / "images.txt") << "not images";
  const struct {
    std::string args, message;
  } cases[] = {
      {"", "--samples"},
      {"--samples " + (dir / "missing.npy").string(), "missing.npy"},
      {"--samples " + (dir / "flat.npy").string(), "[4, 784]"},
      {"--samples " + (dir / "images.txt").string(), "images.txt"},
      {"--samples train --samples-limit 0", "--samples-limit"},
      {"--samples train --kid-subsets 0", "--kid-subsets"},
      {"--samples train --samples-limit 20 --kid-subset-size 50", "--kid-subset-size 20 or less"},
      {"--samples train --batch-size 0", "--batch-size"},
      {"--samples train --feature-net " + (dir / "images.txt").string(), "SHA-256"},
      {"--samples train --lr 5", "--lr"},
  };
  for (const auto& c : cases) {
    const CliRun r = run_classify("fid --reference test --reference-limit 100 --threads 1 " + c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_TRUE(has(r.output, "error:")) << c.args << "\n" << r.output;
    EXPECT_TRUE(has(r.output, c.message)) << c.args << ": expected \"" << c.message << "\" in\n" << r.output;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace trifecta
