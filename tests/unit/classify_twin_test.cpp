// trifecta's CNN classifier against its PyTorch twin, both run at test time by CTest fixtures with every
// setting pinned (tests/CMakeLists.txt, TRIFECTA_CLASSIFY_TWIN_FLAGS): `classify train` writes its run into
// TRIFECTA_CLASSIFY_TWIN_DIR, then bench/reference/classify_torch.py trains the same model from that run's
// init.safetensors on the same batches with the same dropout masks and writes torch.json there. This test
// checks the two ran the same experiment (the same flags, the same losses step for step) and reached the same
// test accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "models/common/checkpoint.h"
#include "tensor/json.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;

struct Twins {
  fs::path run;
  Json trifecta_flags;  // recorded in trifecta's checkpoint
  std::vector<double> trifecta_losses;
  double trifecta_accuracy = NAN, trifecta_loss = NAN;
  Json torch;  // classify_torch.py's result line
};

Twins read_twins() {
  const char* dir = std::getenv("TRIFECTA_CLASSIFY_TWIN_DIR");
  EXPECT_NE(dir, nullptr) << "TRIFECTA_CLASSIFY_TWIN_DIR is not set; run through ctest";
  Twins twins;
  if (!dir) return twins;
  const fs::path run = twins.run = dir;
  twins.trifecta_flags = load_checkpoint((run / "checkpoint.safetensors").string(), "classifier-cnn").config;
  std::ifstream metrics(run / "metrics.jsonl");
  for (std::string text; std::getline(metrics, text);) {
    const Json line = json::parse(text, "metrics.jsonl");
    if (line.contains("loss")) twins.trifecta_losses.push_back(line.at("loss").get<double>());
    if (line.contains("test_accuracy")) {
      twins.trifecta_accuracy = line.at("test_accuracy").get<double>();
      twins.trifecta_loss = line.at("test_loss").get<double>();
    }
  }
  std::ifstream torch(run / "torch.json");
  std::string text((std::istreambuf_iterator<char>(torch)), std::istreambuf_iterator<char>());
  twins.torch = json::parse(text, (run / "torch.json").string());
  return twins;
}

TEST(ClassifyTwin, BothSidesTakeTheSameSteps) {
  const Twins twins = read_twins();
  const Json& torch_flags = twins.torch.at("flags");
  for (const char* flag : {"architecture", "dropout", "optimizer", "lr", "momentum", "weight-decay", "lr-schedule",
                           "seed", "steps", "batch-size", "train-limit", "test-limit", "device"})
    EXPECT_EQ(twins.trifecta_flags.at(flag), torch_flags.at(flag)) << "--" << flag << " differs";
  EXPECT_EQ(fs::path(torch_flags.at("init").get<std::string>()), twins.run / "init.safetensors");
  // Same initial weights, batches, dropout masks, optimizer and schedule: the first steps agree to float
  // rounding (measured: below 3e-6 relative over the first 10 steps), which compounds slowly through Adam
  // (below 7e-4 at step 40).
  const std::vector<double> torch_losses = twins.torch.at("losses").get<std::vector<double>>();
  const int64_t steps = twins.trifecta_flags.at("steps").get<int64_t>();
  ASSERT_EQ(static_cast<int64_t>(twins.trifecta_losses.size()), steps) << "trifecta must log every step";
  ASSERT_EQ(static_cast<int64_t>(torch_losses.size()), steps);
  for (int64_t i = 0; i < steps; ++i)
    EXPECT_NEAR(twins.trifecta_losses[i], torch_losses[i], (i < 10 ? 1e-5 : 5e-3) * std::abs(torch_losses[i]))
        << "step " << i + 1;
}

TEST(ClassifyTwin, TestAccuracyAndLossAgree) {
  const Twins twins = read_twins();
  const double accuracy = twins.torch.at("test_accuracy").get<double>(), loss = twins.torch.at("test_loss").get<double>();
  // 500 test images: one image is 0.002; rounding may flip a borderline one or two.
  EXPECT_NEAR(twins.trifecta_accuracy, accuracy, 0.005);
  EXPECT_NEAR(twins.trifecta_loss, loss, 1e-3 * loss);
  EXPECT_GT(twins.trifecta_accuracy, 0.6) << "both sides should have learned in these steps";
}

}  // namespace
}  // namespace trifecta
