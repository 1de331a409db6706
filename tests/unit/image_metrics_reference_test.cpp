// The image-quality metrics against scipy and the PyTorch twin (bench/reference/fid_torch.py): CTest first
// runs tests/oracle/make_fid_reference.py (fixture fid_reference_generate), which writes random SPD
// covariances with their Frechet distance by scipy.linalg.sqrtm(S1 @ S2) (pytorch-fid's way), and feature
// sets with the report fid_torch.image_quality gives; its path comes in TRIFECTA_FID_REFERENCE.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "models/common/image_metrics/frechet_distance.h"
#include "models/common/image_metrics/image_quality.h"
#include "tensor/safetensors.h"

namespace trifecta::image_metrics {
namespace {

const TensorFile& reference() {
  static const TensorFile file = [] {
    const char* path = std::getenv("TRIFECTA_FID_REFERENCE");
    TRIFECTA_CHECK(path != nullptr, "image_metrics_reference_test",
                   "TRIFECTA_FID_REFERENCE is not set; run through ctest, which generates the file");
    return load_safetensors(path);
  }();
  return file;
}

double scalar(const std::string& name) { return reference().get(name).item<double>(); }

FeatureStatistics given(const std::string& mean, const std::string& covariance) {
  const Tensor mu = reference().get(mean), sigma = reference().get(covariance);
  return {2, mu.size(0), mu.to_vector<double>(), sigma.to_vector<double>()};
}

// Sizes 1 to 128, condition numbers up to 1e4: trifecta's eigendecompositions agree with scipy's Schur-based
// sqrtm to near float64 roundoff (the two reference methods agree with each other to about 1e-14).
TEST(ImageMetricsReference, FrechetDistanceMatchesScipySqrtm) {
  int cases = 0;
  for (int k = 0; reference().has("spd." + std::to_string(k) + ".mu1"); ++k, ++cases) {
    const std::string p = "spd." + std::to_string(k) + ".";
    const double d = frechet_distance(given(p + "mu1", p + "sigma1"), given(p + "mu2", p + "sigma2"));
    EXPECT_NEAR(d, scalar(p + "fd_sqrtm"), 1e-10 * scalar(p + "fd_sqrtm")) << "case " << k;
    EXPECT_NEAR(d, scalar(p + "fd_eigh"), 1e-10 * scalar(p + "fd_eigh")) << "case " << k;
  }
  EXPECT_EQ(cases, 5);
}

// The whole report on the same float64 features: within 1e-6 relative (in practice about 1e-11).
TEST(ImageMetricsReference, ReportMatchesThePyTorchTwin) {
  const TensorFile& ref = reference();
  const KidOptions kid{.subsets = std::stoll(ref.metadata.at("kid_subsets")),
                       .subset_size = std::stoll(ref.metadata.at("kid_subset_size")),
                       .seed = std::stoull(ref.metadata.at("kid_seed"))};
  const ImageQuality q = image_quality(ref.get("features.x"), ref.get("features.y"), ref.get("features.probabilities"), kid);
  const auto expect_close = [](double value, double expected, const char* name) {
    EXPECT_NEAR(value, expected, 1e-6 * std::abs(expected)) << name;
  };
  expect_close(q.fid, scalar("expected.fid"), "fid");
  expect_close(q.fid, scalar("features.fid_eigh"), "fid (eigh)");
  expect_close(q.kid.mean, scalar("expected.kid_mean"), "kid_mean");
  expect_close(q.kid.std, scalar("expected.kid_std"), "kid_std");
  const std::vector<double> per_subset = ref.get("features.kid_per_subset").to_vector<double>();
  ASSERT_EQ(q.kid.per_subset.size(), per_subset.size());
  for (size_t s = 0; s < per_subset.size(); ++s) expect_close(q.kid.per_subset[s], per_subset[s], "kid subset");
  expect_close(polynomial_mmd2_unbiased(feature_matrix(ref.get("features.x"), "x", 2), feature_matrix(ref.get("features.y"), "y", 2)),
               scalar("features.mmd_all"), "mmd on all rows");
  expect_close(q.labels.conditional, scalar("expected.entropy_conditional"), "entropy_conditional");
  expect_close(q.labels.marginal, scalar("expected.entropy_marginal"), "entropy_marginal");
  expect_close(q.labels.inception_score, scalar("expected.inception_score"), "inception_score");
  std::printf("fid %.12g (scipy %.12g), kid %.12g +- %.12g (twin %.12g +- %.12g)\n", q.fid, scalar("expected.fid"),
              q.kid.mean, q.kid.std, scalar("expected.kid_mean"), scalar("expected.kid_std"));
}

}  // namespace
}  // namespace trifecta::image_metrics
