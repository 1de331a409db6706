// KID: each kernel matrix is a Gram matrix by BLAS (x_i . y_j for all pairs in one dgemm, or dsyrk for a set
// with itself), then the cubic kernel and the sums are taken elementwise.
#include "models/common/image_metrics/kernel_inception_distance.h"

#include <cblas.h>

#include <cmath>

#include "data/epoch_order.h"
#include "tensor/error.h"

namespace trifecta::image_metrics {

namespace {

// Sum of k(a_i, b_j) over all pairs.
double cross_kernel_sum(const FeatureMatrix& a, const FeatureMatrix& b) {
  const int m = static_cast<int>(a.rows), n = static_cast<int>(b.rows), d = static_cast<int>(a.cols);
  std::vector<double> gram(static_cast<size_t>(a.rows * b.rows));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, d, 1.0 / d, a.values.data(), d, b.values.data(), d, 0.0,
              gram.data(), n);
  double total = 0;
  for (const double g : gram) total += (g + 1.0) * (g + 1.0) * (g + 1.0);
  return total;
}

// Sum of k(a_i, a_j) over i != j: twice the strict upper triangle of a symmetric Gram matrix, which dsyrk
// computes alone, at half dgemm's cost.
double self_kernel_sum(const FeatureMatrix& a) {
  const int m = static_cast<int>(a.rows), d = static_cast<int>(a.cols);
  std::vector<double> gram(static_cast<size_t>(a.rows * a.rows));
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, m, d, 1.0 / d, a.values.data(), d, 0.0, gram.data(), m);
  double total = 0;
  for (int i = 0; i < m; ++i)
    for (int j = i + 1; j < m; ++j) {
      const double base = gram[static_cast<size_t>(i) * m + j] + 1.0;
      total += base * base * base;
    }
  return 2.0 * total;
}

}  // namespace

double polynomial_mmd2_unbiased(const FeatureMatrix& x, const FeatureMatrix& y) {
  TRIFECTA_CHECK(x.cols == y.cols, "kernel_inception_distance", "feature dimensions differ: ", x.cols, " vs ", y.cols);
  TRIFECTA_CHECK(x.rows >= 2 && y.rows >= 2, "kernel_inception_distance", "needs at least 2 images per set, got ",
                 x.rows, " and ", y.rows);
  const double m = static_cast<double>(x.rows), n = static_cast<double>(y.rows);
  return self_kernel_sum(x) / (m * (m - 1)) + self_kernel_sum(y) / (n * (n - 1)) - 2.0 * cross_kernel_sum(x, y) / (m * n);
}

KidResult kernel_inception_distance(const Tensor& x, const Tensor& y, const KidOptions& options) {
  return kernel_inception_distance(feature_matrix(x, "kernel_inception_distance: first features", 2),
                                   feature_matrix(y, "kernel_inception_distance: second features", 2), options);
}

KidResult kernel_inception_distance(const FeatureMatrix& x, const FeatureMatrix& y, const KidOptions& options) {
  TRIFECTA_CHECK(x.cols == y.cols, "kernel_inception_distance", "feature dimensions differ: ", x.cols, " vs ", y.cols);
  TRIFECTA_CHECK(options.subsets >= 1, "kernel_inception_distance", "subsets must be at least 1, got ", options.subsets);
  const int64_t smaller = std::min(x.rows, y.rows);
  TRIFECTA_CHECK(options.subset_size >= 2 && options.subset_size <= smaller, "kernel_inception_distance",
                 "subset size must be 2 to ", smaller, " (the smaller set's size), got ", options.subset_size);
  KidResult result;
  for (int64_t s = 0; s < options.subsets; ++s) {
    std::vector<int64_t> pick_x = shuffled_order(x.rows, options.seed, 2 * s);
    std::vector<int64_t> pick_y = shuffled_order(y.rows, options.seed, 2 * s + 1);
    pick_x.resize(static_cast<size_t>(options.subset_size));
    pick_y.resize(static_cast<size_t>(options.subset_size));
    result.per_subset.push_back(polynomial_mmd2_unbiased(gather_rows(x, pick_x), gather_rows(y, pick_y)));
  }
  for (const double v : result.per_subset) result.mean += v;
  result.mean /= static_cast<double>(options.subsets);
  for (const double v : result.per_subset) result.std += (v - result.mean) * (v - result.mean);
  result.std = std::sqrt(result.std / static_cast<double>(options.subsets));
  return result;
}

}  // namespace trifecta::image_metrics
