// Mean and covariance in two passes: first the mean, then the products of the centered features. The
// one-pass formula E[x x^T] - mu mu^T subtracts two large, nearly equal numbers whenever a feature's mean is
// large against its spread (post-ReLU features often are), and loses the digits the Frechet distance
// needs; centering first keeps every product small (Chan, Golub & LeVeque, "Algorithms for Computing the
// Sample Variance", The American Statistician 37(3), 1983).
#include "models/common/image_metrics/feature_statistics.h"

#include <cblas.h>

#include "tensor/error.h"

namespace trifecta::image_metrics {

FeatureStatistics feature_statistics(const Tensor& features, const std::string& what) {
  return feature_statistics(feature_matrix(features, what, 2), what);
}

FeatureStatistics feature_statistics(const FeatureMatrix& x, const std::string& what) {
  TRIFECTA_CHECK(x.rows >= 2, what, "needs at least 2 images for a covariance, got ", x.rows);
  const int64_t n = x.rows, f = x.cols;
  FeatureStatistics s{n, f, std::vector<double>(static_cast<size_t>(f), 0.0),
                      std::vector<double>(static_cast<size_t>(f * f), 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) s.mean[j] += x.at(i, j);
  for (double& m : s.mean) m /= static_cast<double>(n);

  std::vector<double> centered(x.values.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) centered[i * f + j] = x.at(i, j) - s.mean[j];
  // Upper triangle of centered^T centered / (N - 1), then mirrored.
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(f), static_cast<int>(n),
              1.0 / static_cast<double>(n - 1), centered.data(), static_cast<int>(f), 0.0, s.covariance.data(),
              static_cast<int>(f));
  for (int64_t i = 0; i < f; ++i)
    for (int64_t j = 0; j < i; ++j) s.covariance[i * f + j] = s.covariance[j * f + i];
  return s;
}

}  // namespace trifecta::image_metrics
