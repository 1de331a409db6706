// The kernel distance of Binkowski, Sutherland, Arbel & Gretton, "Demystifying MMD GANs" (ICLR 2018),
// section 5 ("KID"): the squared maximum mean discrepancy between two feature sets under the cubic
// polynomial kernel
//     k(x, y) = (x . y / d + 1)^3          (d: the feature dimension)
// estimated without bias (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012, eq. 3):
//     MMD^2_u = 1/(m(m-1)) sum_{i!=j} k(x_i, x_j) + 1/(n(n-1)) sum_{i!=j} k(y_i, y_j) - 2/(mn) sum_{i,j} k(x_i, y_j).
// Unlike FID it has an unbiased estimator, so it can be compared across sample sizes, and it can be
// slightly negative when the two sets come from one distribution. As the paper's code does, it is averaged
// over random subsets of equal size drawn without replacement; the spread over subsets is reported too.
// With our classifier's features it is KID-F, as FID-F is.
#pragma once

#include <cstdint>
#include <vector>

#include "models/common/image_metrics/feature_matrix.h"
#include "tensor/tensor.h"

namespace trifecta::image_metrics {

struct KidOptions {
  int64_t subsets = 100;       // as the paper's code and torch-fidelity
  int64_t subset_size = 1000;  // images drawn from each set per subset; at most the smaller set's size
  uint64_t seed = 0;           // subset s takes the first subset_size entries of shuffled_order(N, seed, epoch)
                               // (data/epoch_order.h), with epoch 2s for the first set and 2s + 1 for the second
};

struct KidResult {
  double mean = 0;  // over subsets
  double std = 0;   // population standard deviation over subsets (ddof 0, as the paper's code and torch-fidelity)
  std::vector<double> per_subset;
};

// MMD^2_u of two feature matrices of equal width with at least 2 rows each, on all their rows.
double polynomial_mmd2_unbiased(const FeatureMatrix& x, const FeatureMatrix& y);

// KID over options.subsets subsets. Features: [N, F] and [M, F], finite. A subset size below 2 or above
// min(N, M), or a subset count below 1, is an Error naming the flag-like option.
KidResult kernel_inception_distance(const Tensor& x, const Tensor& y, const KidOptions& options = {});
KidResult kernel_inception_distance(const FeatureMatrix& x, const FeatureMatrix& y, const KidOptions& options = {});

}  // namespace trifecta::image_metrics
