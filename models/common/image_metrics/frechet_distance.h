// The Frechet distance between two Gaussians fitted to feature sets: the FID of Heusel et al., "GANs Trained
// by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium" (NeurIPS 2017), eq. 6, there with
// Inception features, here with whatever features the caller brings (FID-F: a Fashion-MNIST classifier's):
//
//     d^2 = ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2})
//
// (Dowson & Landau, "The Frechet distance between multivariate normal distributions", J. Multivariate
// Analysis 12(3), 1982). Symmetric eigendecompositions give the square roots; see frechet_distance.cpp.
#pragma once

#include "models/common/image_metrics/feature_statistics.h"

namespace trifecta::image_metrics {

// Eigenvalues of a covariance (or of S1^{1/2} S2 S1^{1/2}) down to -kNegativeEigenvalueTolerance times the
// largest one are roundoff around zero and count as zero; a more negative one means the matrix is not
// positive semidefinite and is an Error. Roundoff in a computed Gram matrix and in dsyevd is a few n * N *
// 2^-53 relative (about 1e-12 for 10,000 images of 512 features), far inside this bound, while a real
// defect, such as a hand-made covariance that is not one, is caught.
constexpr double kNegativeEigenvalueTolerance = 1e-9;

// Both statistics need the same feature dimension. The result is >= 0 (a roundoff-level negative value,
// possible when the two sets are nearly identical, is returned as 0).
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);

}  // namespace trifecta::image_metrics
