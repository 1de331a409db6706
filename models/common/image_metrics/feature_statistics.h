// The Gaussian an image set's features are summarized by for the Frechet distance: their mean and their
// covariance, in float64. The covariance is the unbiased one (divided by N - 1), as NumPy's np.cov computes
// it and as the reference FID implementations (TTUR's fid.py, pytorch-fid) use.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/common/image_metrics/feature_matrix.h"
#include "tensor/tensor.h"

namespace trifecta::image_metrics {

struct FeatureStatistics {
  int64_t count = 0;               // images the statistics come from
  int64_t dim = 0;                 // F
  std::vector<double> mean;        // F
  std::vector<double> covariance;  // F * F, row-major, symmetric
};

// features: [N, F] with N >= 2 (one image gives no covariance), every value finite.
FeatureStatistics feature_statistics(const Tensor& features, const std::string& what);
FeatureStatistics feature_statistics(const FeatureMatrix& features, const std::string& what);

}  // namespace trifecta::image_metrics
