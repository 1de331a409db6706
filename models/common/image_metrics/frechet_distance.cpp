// tr (S1^{1/2} S2 S1^{1/2})^{1/2} without forming S1^{1/2} in the original basis. With S1 = U diag(l) U^T
// and D = diag(sqrt(l)), S1^{1/2} = U D U^T, so
//     S1^{1/2} S2 S1^{1/2} = U (D U^T S2 U D) U^T,
// a matrix similar to C = D (U^T S2 U) D, whose eigenvalues (hence the trace of its square root) it shares.
// C is symmetric positive semidefinite, so a second symmetric eigendecomposition gives
//     tr (S1^{1/2} S2 S1^{1/2})^{1/2} = sum_i sqrt(eig_i(C)).
// Working in S1's eigenbasis matters when S1 is singular (dead features, fewer images than features): the
// rows and columns of C that belong to zero eigenvalues of S1 are scaled by sqrt(l) ~ 0, so roundoff cannot
// lift them into spurious eigenvalues whose square roots would add up (for identical sets, C is diag(l^2)
// up to roundoff of size sqrt(l_i l_j) eps, and the distance comes out 0 to about n * eps).
// scipy.linalg.sqrtm(S1 @ S2), which pytorch-fid uses, computes the same trace through a Schur form.
#include "models/common/image_metrics/frechet_distance.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "models/common/image_metrics/symmetric_eigen.h"
#include "tensor/error.h"

namespace trifecta::image_metrics {

namespace {

// The eigenvalues with roundoff-level negatives set to 0; a larger negative one is an Error naming what.
std::vector<double> clamped_eigenvalues(const std::vector<double>& values, const std::string& what) {
  double largest = 0;
  for (const double v : values) largest = std::max(largest, std::abs(v));
  const double tolerance = kNegativeEigenvalueTolerance * largest;
  std::vector<double> clamped(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    TRIFECTA_CHECK(values[i] >= -tolerance, "frechet_distance", what, " is not positive semidefinite: eigenvalue ",
                   values[i], " (largest ", largest, ", roundoff tolerance ", tolerance, ")");
    clamped[i] = std::max(values[i], 0.0);
  }
  return clamped;
}

void check_statistics(const FeatureStatistics& s, const char* which) {
  TRIFECTA_CHECK(s.dim >= 1 && s.mean.size() == static_cast<size_t>(s.dim) &&
                     s.covariance.size() == static_cast<size_t>(s.dim * s.dim),
                 "frechet_distance", which, " statistics are inconsistent: dim ", s.dim, ", ", s.mean.size(),
                 " means, ", s.covariance.size(), " covariance entries");
  for (const double v : s.mean) TRIFECTA_CHECK(std::isfinite(v), "frechet_distance", which, " mean has a non-finite entry");
  const int64_t f = s.dim;
  for (int64_t i = 0; i < f; ++i)
    for (int64_t j = 0; j < i; ++j) {
      const double upper = s.covariance[j * f + i], lower = s.covariance[i * f + j];
      TRIFECTA_CHECK(std::abs(upper - lower) <= 1e-12 * std::max(std::abs(upper), std::abs(lower)) || upper == lower,
                     "frechet_distance", which, " covariance is not symmetric at (", i, ", ", j, "): ", lower,
                     " vs ", upper);
    }
}

}  // namespace

double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b) {
  check_statistics(a, "first");
  check_statistics(b, "second");
  TRIFECTA_CHECK(a.dim == b.dim, "frechet_distance", "feature dimensions differ: ", a.dim, " vs ", b.dim);
  const int64_t f = a.dim;
  const int n = static_cast<int>(f);

  double mean_term = 0, trace_a = 0, trace_b = 0;
  for (int64_t i = 0; i < f; ++i) {
    mean_term += (a.mean[i] - b.mean[i]) * (a.mean[i] - b.mean[i]);
    trace_a += a.covariance[i * f + i];
    trace_b += b.covariance[i * f + i];
  }

  const SymmetricEigen eig_a = symmetric_eigen(a.covariance, f, "frechet_distance: first covariance");
  const std::vector<double> l = clamped_eigenvalues(eig_a.values, "the first covariance");
  // Rows of eig_a.vectors are the eigenvectors: that array is U^T in row-major terms.
  const double* ut = eig_a.vectors.data();
  std::vector<double> product(static_cast<size_t>(f * f)), c(static_cast<size_t>(f * f));
  // product = U^T S2, then c = (U^T S2) U.
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, ut, n, b.covariance.data(), n, 0.0,
              product.data(), n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0, product.data(), n, ut, n, 0.0, c.data(), n);
  // c = D c D, symmetrized: the two gemms leave roundoff-level asymmetry, and dsyevd reads one triangle.
  for (int64_t i = 0; i < f; ++i)
    for (int64_t j = i; j < f; ++j) {
      const double v = 0.5 * (c[i * f + j] + c[j * f + i]) * std::sqrt(l[i] * l[j]);
      c[i * f + j] = c[j * f + i] = v;
    }
  const SymmetricEigen eig_c = symmetric_eigen(std::move(c), f, "frechet_distance: S1^1/2 S2 S1^1/2");
  double trace_sqrt = 0;
  for (const double mu : clamped_eigenvalues(eig_c.values, "S1^1/2 S2 S1^1/2")) trace_sqrt += std::sqrt(mu);

  return std::max(0.0, mean_term + trace_a + trace_b - 2.0 * trace_sqrt);
}

}  // namespace trifecta::image_metrics
