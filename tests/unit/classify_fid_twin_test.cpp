// `classify fid` against its PyTorch twin: CTest's fixture fid_twin_torch runs bench/reference/fid_torch.py
// (classify_torch.py's network with the committed FID-F weights, scipy's sqrtm for the Frechet distance) on
// the sets TRIFECTA_FID_TWIN_ARGS names and leaves its JSON report in TRIFECTA_FID_TWIN_JSON; this test runs
// the classify binary with the same arguments and asserts that both score the same images the same: FID-F
// to 1e-3 (absolute), KID-F and the label entropies to 1e-3 relative, the same network file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tensor/json.h"
#include "tests/harness/cli_run.h"

namespace trifecta {
namespace {

Json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path << " (run through ctest, which writes it first)";
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str(), path);
}

double relative_gap(double a, double b) { return std::abs(a - b) / std::max(std::abs(a), std::abs(b)); }

TEST(ClassifyFidTwin, TrifectaAndPyTorchScoreTheSameImagesTheSame) {
  const char* torch_json = std::getenv("TRIFECTA_FID_TWIN_JSON");
  const char* args = std::getenv("TRIFECTA_FID_TWIN_ARGS");
  ASSERT_NE(torch_json, nullptr) << "TRIFECTA_FID_TWIN_JSON is not set; run through ctest";
  ASSERT_NE(args, nullptr) << "TRIFECTA_FID_TWIN_ARGS is not set; run through ctest";
  const Json torch = read_json(torch_json);
  const testing::CliRun r =
      testing::run_binary(testing::binary_from("TRIFECTA_CLASSIFY_BIN"), std::string("fid --json ") + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json ours = json::parse(r.output, "classify fid --json");

  EXPECT_EQ(ours.at("feature_net_sha256"), torch.at("feature_net_sha256"));
  EXPECT_EQ(ours.at("feature_net"), torch.at("feature_net"));
  for (const char* count : {"reference_images", "sample_images", "features", "kid_subsets", "kid_subset_size"})
    EXPECT_EQ(ours.at(count).get<int64_t>(), torch.at(count).get<int64_t>()) << count;
  const double fid = ours.at("fid").get<double>(), torch_fid = torch.at("fid").get<double>();
  EXPECT_GT(fid, 0.0);
  EXPECT_NEAR(fid, torch_fid, 1e-3) << "FID-F: trifecta " << fid << ", PyTorch " << torch_fid;
  for (const char* figure : {"kid_mean", "kid_std", "entropy_conditional", "entropy_marginal", "inception_score"}) {
    const double a = ours.at(figure).get<double>(), b = torch.at(figure).get<double>();
    EXPECT_LT(relative_gap(a, b), 1e-3) << figure << ": trifecta " << a << ", PyTorch " << b;
  }
}

}  // namespace
}  // namespace trifecta
