// The image-quality metrics (models/common/image_metrics/) against closed forms and plain float64 loops:
// feature statistics with a large common offset, the Frechet distance for diagonal and commuting
// covariances (where it has a closed form), identical sets at 0, KID's unbiased MMD^2 and its subsets,
// the label entropies, and the errors for bad input. scipy's sqrtm and the PyTorch twin are checked in
// image_metrics_reference_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/epoch_order.h"
#include "models/common/image_metrics/frechet_distance.h"
#include "models/common/image_metrics/image_quality.h"
#include "models/common/image_metrics/kernel_inception_distance.h"
#include "models/common/image_metrics/label_entropy.h"
#include "models/common/image_metrics/symmetric_eigen.h"
#include "tests/harness/expect_error.h"

namespace trifecta::image_metrics {
namespace {

using testing::expect_error;

Tensor matrix(int64_t rows, int64_t cols, const std::vector<double>& values) {
  Tensor t = empty({rows, cols}, DType::Float64);
  std::copy(values.begin(), values.end(), t.data<double>());
  return t;
}

std::vector<double> normals(size_t n, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(n);
  for (double& x : v) x = shift + scale * normal(rng);
  return v;
}

// An n x n orthogonal matrix (row-major) by Gram-Schmidt on random rows.
std::vector<double> random_orthogonal(int64_t n, uint64_t seed) {
  std::vector<double> q = normals(static_cast<size_t>(n * n), seed);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < i; ++k) {
      double dot = 0;
      for (int64_t j = 0; j < n; ++j) dot += q[i * n + j] * q[k * n + j];
      for (int64_t j = 0; j < n; ++j) q[i * n + j] -= dot * q[k * n + j];
    }
    double norm = 0;
    for (int64_t j = 0; j < n; ++j) norm += q[i * n + j] * q[i * n + j];
    for (int64_t j = 0; j < n; ++j) q[i * n + j] /= std::sqrt(norm);
  }
  return q;
}

// Q^T diag(d) Q for orthogonal Q (rows are the eigenvectors).
std::vector<double> with_eigenvalues(const std::vector<double>& q, const std::vector<double>& d) {
  const int64_t n = static_cast<int64_t>(d.size());
  std::vector<double> s(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) s[i * n + j] += q[k * n + i] * d[k] * q[k * n + j];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) s[i * n + j] = s[j * n + i];  // exactly symmetric
  return s;
}

FeatureStatistics statistics(const std::vector<double>& mean, const std::vector<double>& covariance) {
  return {2, static_cast<int64_t>(mean.size()), mean, covariance};
}

double trace(const FeatureStatistics& s) {
  double t = 0;
  for (int64_t i = 0; i < s.dim; ++i) t += s.covariance[i * s.dim + i];
  return t;
}

// Features around 1e6 with unit spread: E[x x^T] - mu mu^T would lose about 12 of the 16 digits, the two
// passes keep them. The reference works on the exact offsets (x - 1e6 is exact for x in [5e5, 2e6]).
TEST(FeatureStatistics, TwoPassesKeepTheDigitsOfALargeMean) {
  const int64_t n = 400, f = 6;
  std::vector<double> x = normals(n * f, 1, 1.0, 1e6);
  const FeatureStatistics s = feature_statistics(matrix(n, f, x), "features");
  ASSERT_EQ(s.count, n);
  ASSERT_EQ(s.dim, f);
  std::vector<double> offset(x.size()), mean(f, 0.0);
  for (size_t i = 0; i < x.size(); ++i) offset[i] = x[i] - 1e6;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < f; ++j) mean[j] += offset[i * f + j] / n;
  for (int64_t a = 0; a < f; ++a) {
    EXPECT_NEAR(s.mean[a] - 1e6, mean[a], 1e-9);
    for (int64_t b = 0; b < f; ++b) {
      double c = 0;
      for (int64_t i = 0; i < n; ++i) c += (offset[i * f + a] - mean[a]) * (offset[i * f + b] - mean[b]);
      c /= static_cast<double>(n - 1);
      EXPECT_NEAR(s.covariance[a * f + b], c, 1e-9) << a << ", " << b;
    }
  }
}

TEST(SymmetricEigen, ReconstructsTheMatrix) {
  const int64_t n = 9;
  const std::vector<double> q = random_orthogonal(n, 2);
  const std::vector<double> d = {-3, -1, 0, 0.5, 1, 2, 2, 7, 11};
  const SymmetricEigen e = symmetric_eigen(with_eigenvalues(q, d), n, "test matrix");
  for (int64_t k = 0; k < n; ++k) EXPECT_NEAR(e.values[k], d[k], 1e-12);
  EXPECT_EQ(with_eigenvalues(e.vectors, e.values).size(), size_t(n * n));
  const std::vector<double> back = with_eigenvalues(e.vectors, e.values), original = with_eigenvalues(q, d);
  for (size_t i = 0; i < back.size(); ++i) EXPECT_NEAR(back[i], original[i], 1e-12);
  expect_error([] { symmetric_eigen({1, 2, 2}, 2, "bad"); }, "bad", "holds 3 values");
  expect_error([] { symmetric_eigen({1, NAN, NAN, 1}, 2, "bad"); }, "bad", "non-finite");
}

// Diagonal covariances: d^2 = ||mu1 - mu2||^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2.
TEST(FrechetDistance, DiagonalCovariancesMatchTheClosedForm) {
  const std::vector<double> a = {1.0, 4.0, 0.25, 9.0, 0.0}, b = {2.0, 1.0, 0.25, 16.0, 3.0};
  const std::vector<double> mu1 = {0.5, -1.0, 2.0, 0.0, 1.0}, mu2 = {0.0, 1.0, 2.0, -3.0, 1.5};
  std::vector<double> s1(25, 0.0), s2(25, 0.0);
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    s1[i * 6] = a[i];
    s2[i * 6] = b[i];
    expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (std::sqrt(a[i]) - std::sqrt(b[i])) * (std::sqrt(a[i]) - std::sqrt(b[i]));
  }
  EXPECT_NEAR(frechet_distance(statistics(mu1, s1), statistics(mu2, s2)), expected, 1e-12 * expected);
  EXPECT_NEAR(frechet_distance(statistics(mu2, s2), statistics(mu1, s1)), expected, 1e-12 * expected);
}

// Covariances sharing eigenvectors Q: the same closed form over their eigenvalues. When S1 is singular the
// problem itself is ill-conditioned: a roundoff-sized eigenvalue e of the computed S1 (about eps ||S1||
// instead of 0) moves the distance by about sqrt(e b) (sqrt has no Lipschitz bound at 0), whatever the
// algorithm, so the singular case gets that bound per zero eigenvalue.
TEST(FrechetDistance, CommutingCovariancesMatchTheClosedForm) {
  for (const bool singular : {false, true})
    for (const int64_t n : {2, 7, 40}) {
      const std::vector<double> q = random_orthogonal(n, 10 + n);
      std::vector<double> a(n), b(n), mu1 = normals(n, 3), mu2 = normals(n, 4);
      double expected = 0, largest_a = 0, largest_b = 0;
      int64_t zeros = 0;
      for (int64_t i = 0; i < n; ++i) {
        a[i] = singular && i % 3 == 0 ? 0.0 : 0.1 + 0.3 * i;
        b[i] = 5.0 / (1 + i);
        zeros += a[i] == 0;
        largest_a = std::max(largest_a, a[i]);
        largest_b = std::max(largest_b, b[i]);
        expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + std::pow(std::sqrt(a[i]) - std::sqrt(b[i]), 2);
      }
      const double tolerance = 1e-10 * expected + 2.0 * zeros * std::sqrt(n * 2.2e-16 * largest_a * largest_b);
      const double d = frechet_distance(statistics(mu1, with_eigenvalues(q, a)), statistics(mu2, with_eigenvalues(q, b)));
      EXPECT_NEAR(d, expected, tolerance) << "n = " << n << (singular ? ", singular" : "");
    }
}

// The same set twice gives 0, also when the covariance is singular (fewer images than features, a dead
// feature): the eigenbasis of S1 keeps the roundoff of the zero eigenvalues from adding up.
TEST(FrechetDistance, IdenticalSetsGiveZero) {
  struct Case {
    int64_t n, f;
  };
  for (const Case c : {Case{500, 32}, Case{10, 40}, Case{2, 3}}) {
    std::vector<double> x = normals(c.n * c.f, 5 + c.f, 2.0, 3.0);
    for (int64_t i = 0; i < c.n; ++i) x[i * c.f] = 0.0;  // a dead feature
    const FeatureStatistics s = feature_statistics(matrix(c.n, c.f, x), "features");
    const double d = frechet_distance(s, s);
    EXPECT_GE(d, 0.0);
    EXPECT_LE(d, 1e-9 * trace(s)) << c.n << " x " << c.f;
    // A shift by c moves only the mean term: d^2 = ||c||^2. (Only for a full-rank covariance: the shifted
    // set's covariance differs by roundoff, which a singular one turns into about sqrt(eps) per zero
    // eigenvalue, as above.)
    if (c.n <= c.f) continue;
    std::vector<double> shifted = x;
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t j = 0; j < c.f; ++j) shifted[i * c.f + j] += 0.5;
    const double moved = frechet_distance(s, feature_statistics(matrix(c.n, c.f, shifted), "shifted"));
    EXPECT_NEAR(moved, 0.25 * c.f, 1e-10 * trace(s));
  }
}

TEST(FrechetDistance, BadInputIsAClearError) {
  const std::vector<double> mu = {0, 0};
  expect_error([&] { frechet_distance(statistics(mu, {1, 0, 0, -1}), statistics(mu, {1, 0, 0, 1})); },
               "frechet_distance", "first covariance is not positive semidefinite", "-1");
  expect_error([&] { frechet_distance(statistics(mu, {1, 0, 0, 1}), statistics(mu, {1, 0.5, 0, 1})); },
               "frechet_distance", "second covariance is not symmetric");
  expect_error([&] { frechet_distance(statistics(mu, {1, 0, 0, 1}), statistics({0}, {1})); },
               "feature dimensions differ: 2 vs 1");
  expect_error([&] { frechet_distance(statistics(mu, {1, 0, 0}), statistics(mu, {1, 0, 0, 1})); },
               "first statistics are inconsistent");
  expect_error([&] { feature_statistics(matrix(1, 3, {1, 2, 3}), "sample features"); }, "sample features",
               "at least 2 rows", "got 1");
  expect_error([&] { feature_statistics(matrix(2, 2, {1, 2, NAN, 3}), "sample features"); }, "sample features",
               "row 1, column 0", "not finite");
  expect_error([&] { feature_statistics(empty({4}, DType::Float32), "sample features"); }, "matrix [N, F]", "[4]");
  expect_error([&] { feature_statistics(empty({4, 2}, DType::Int64), "sample features"); }, "floating-point", "int64");
}

// MMD^2_u and KID against plain loops over the kernel.
double kernel(const std::vector<double>& a, int64_t i, const std::vector<double>& b, int64_t j, int64_t d) {
  double dot = 0;
  for (int64_t k = 0; k < d; ++k) dot += a[i * d + k] * b[j * d + k];
  return std::pow(dot / d + 1.0, 3);
}

double mmd2_loops(const std::vector<double>& x, const std::vector<int64_t>& ix, const std::vector<double>& y,
                  const std::vector<int64_t>& iy, int64_t d) {
  const double m = static_cast<double>(ix.size()), n = static_cast<double>(iy.size());
  double xx = 0, yy = 0, xy = 0;
  for (size_t i = 0; i < ix.size(); ++i)
    for (size_t j = 0; j < ix.size(); ++j)
      if (i != j) xx += kernel(x, ix[i], x, ix[j], d);
  for (size_t i = 0; i < iy.size(); ++i)
    for (size_t j = 0; j < iy.size(); ++j)
      if (i != j) yy += kernel(y, iy[i], y, iy[j], d);
  for (const int64_t i : ix)
    for (const int64_t j : iy) xy += kernel(x, i, y, j, d);
  return xx / (m * (m - 1)) + yy / (n * (n - 1)) - 2 * xy / (m * n);
}

std::vector<int64_t> first(std::vector<int64_t> v, int64_t n) {
  v.resize(static_cast<size_t>(n));
  return v;
}

TEST(KernelInceptionDistance, MatchesPlainLoops) {
  const int64_t d = 7, nx = 40, ny = 33;
  const std::vector<double> x = normals(nx * d, 21), y = normals(ny * d, 22, 1.3, 0.4);
  const FeatureMatrix fx = feature_matrix(matrix(nx, d, x), "x", 2), fy = feature_matrix(matrix(ny, d, y), "y", 2);
  std::vector<int64_t> all_x(nx), all_y(ny);
  for (int64_t i = 0; i < nx; ++i) all_x[i] = i;
  for (int64_t i = 0; i < ny; ++i) all_y[i] = i;
  const double whole = mmd2_loops(x, all_x, y, all_y, d);
  EXPECT_NEAR(polynomial_mmd2_unbiased(fx, fy), whole, 1e-12 * std::abs(whole) + 1e-14);

  const KidOptions options{.subsets = 6, .subset_size = 25, .seed = 9};
  const KidResult kid = kernel_inception_distance(matrix(nx, d, x), matrix(ny, d, y), options);
  ASSERT_EQ(kid.per_subset.size(), 6u);
  double mean = 0, square = 0;
  for (int64_t s = 0; s < 6; ++s) {
    const double expected = mmd2_loops(x, first(shuffled_order(nx, 9, 2 * s), 25), y,
                                       first(shuffled_order(ny, 9, 2 * s + 1), 25), d);
    EXPECT_NEAR(kid.per_subset[s], expected, 1e-12 * std::abs(expected) + 1e-14) << "subset " << s;
    mean += expected / 6;
  }
  for (int64_t s = 0; s < 6; ++s) square += (kid.per_subset[s] - mean) * (kid.per_subset[s] - mean) / 6;
  EXPECT_NEAR(kid.mean, mean, 1e-12 * std::abs(mean));
  EXPECT_NEAR(kid.std, std::sqrt(square), 1e-12 * std::sqrt(square));
  EXPECT_GT(kid.std, 0);  // the subsets differ
  // The subsets depend on the seed only through shuffled_order: another seed, other values.
  EXPECT_NE(kernel_inception_distance(fx, fy, {.subsets = 6, .subset_size = 25, .seed = 10}).mean, kid.mean);
}

// One distribution gives KID near 0 (unbiased: either sign); a shifted one gives clearly more.
TEST(KernelInceptionDistance, SeparatesDistributions) {
  const int64_t n = 400, d = 8;
  const Tensor a = matrix(n, d, normals(n * d, 31)), b = matrix(n, d, normals(n * d, 32));
  const Tensor shifted = matrix(n, d, normals(n * d, 33, 1.0, 0.5));
  const KidOptions options{.subsets = 10, .subset_size = 200, .seed = 1};
  const KidResult same = kernel_inception_distance(a, b, options), apart = kernel_inception_distance(a, shifted, options);
  EXPECT_LT(std::abs(same.mean), 3 * same.std + 1e-3);
  EXPECT_GT(apart.mean, 10 * std::abs(same.mean));
  EXPECT_GT(apart.mean, 5 * apart.std);
}

TEST(KernelInceptionDistance, BadInputIsAClearError) {
  const Tensor a = matrix(5, 2, normals(10, 1)), b = matrix(4, 2, normals(8, 2)), c = matrix(4, 3, normals(12, 3));
  expect_error([&] { kernel_inception_distance(a, b, {.subsets = 2, .subset_size = 5}); }, "kernel_inception_distance",
               "subset size must be 2 to 4", "got 5");
  expect_error([&] { kernel_inception_distance(a, b, {.subsets = 2, .subset_size = 1}); }, "subset size");
  expect_error([&] { kernel_inception_distance(a, b, {.subsets = 0, .subset_size = 3}); }, "subsets must be at least 1");
  expect_error([&] { kernel_inception_distance(a, c, {.subsets = 1, .subset_size = 3}); }, "feature dimensions differ");
  expect_error([&] { kernel_inception_distance(matrix(1, 2, {1, 2}), b, {.subsets = 1, .subset_size = 2}); },
               "first features", "at least 2 rows");
}

TEST(LabelEntropy, MatchesADirectComputation) {
  const int64_t n = 6, c = 4;
  std::vector<double> p = normals(n * c, 41);
  for (int64_t i = 0; i < n; ++i) {  // softmax rows, with one exact zero
    double total = 0;
    for (int64_t k = 0; k < c; ++k) total += (p[i * c + k] = std::exp(p[i * c + k]));
    for (int64_t k = 0; k < c; ++k) p[i * c + k] /= total;
  }
  p[1] = 0;
  p[0] = 1 - p[2] - p[3];
  double conditional = 0, marginal = 0;
  std::vector<double> average(c, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < c; ++k) {
      const double v = p[i * c + k];
      if (v > 0) conditional -= v * std::log(v) / n;
      average[k] += v / n;
    }
  for (const double v : average) marginal -= v * std::log(v);
  const LabelEntropy e = label_entropy(matrix(n, c, p), "probabilities");
  EXPECT_EQ(e.classes, c);
  EXPECT_NEAR(e.conditional, conditional, 1e-14);
  EXPECT_NEAR(e.marginal, marginal, 1e-14);
  EXPECT_NEAR(e.inception_score, std::exp(marginal - conditional), 1e-13);
}

TEST(LabelEntropy, ExtremesAreTheKnownValues) {
  // Confident and balanced over 4 of 10 classes: H(y|x) = 0, H(y) = log 4, IS = 4.
  std::vector<double> one_hot(8 * 10, 0.0);
  for (int64_t i = 0; i < 8; ++i) one_hot[i * 10 + i % 4] = 1.0;
  const LabelEntropy sure = label_entropy(matrix(8, 10, one_hot), "p");
  EXPECT_EQ(sure.conditional, 0.0);
  EXPECT_NEAR(sure.marginal, std::log(4.0), 1e-15);
  EXPECT_NEAR(sure.inception_score, 4.0, 1e-14);
  // Uniform: both log C, IS = 1.
  const LabelEntropy unsure = label_entropy(matrix(3, 10, std::vector<double>(30, 0.1)), "p");
  EXPECT_NEAR(unsure.conditional, std::log(10.0), 1e-14);
  EXPECT_NEAR(unsure.marginal, std::log(10.0), 1e-14);
  EXPECT_NEAR(unsure.inception_score, 1.0, 1e-14);
}

TEST(LabelEntropy, BadInputIsAClearError) {
  expect_error([] { label_entropy(matrix(2, 2, {0.5, 0.5, 1.5, -0.5}), "sample probabilities"); },
               "sample probabilities", "row 1 has a negative probability", "not logits");
  expect_error([] { label_entropy(matrix(2, 2, {0.5, 0.5, 0.7, 0.7}), "sample probabilities"); }, "row 1 sums to 1.4");
  expect_error([] { label_entropy(matrix(1, 2, {NAN, 1}), "sample probabilities"); }, "not finite");
  expect_error([] { label_entropy(empty({0, 10}, DType::Float32), "sample probabilities"); }, "at least 1 rows");
}

TEST(ImageQuality, ReportsTheThreeMetricsOfOnePair) {
  const int64_t n = 60, f = 5;
  const Tensor reference = matrix(n, f, normals(n * f, 51)), samples = matrix(n - 10, f, normals((n - 10) * f, 52, 1.2));
  std::vector<double> p((n - 10) * 2, 0.5);
  const KidOptions kid{.subsets = 3, .subset_size = 20, .seed = 4};
  const ImageQuality q = image_quality(reference, samples, matrix(n - 10, 2, p), kid);
  EXPECT_EQ(q.fid, frechet_distance(feature_statistics(reference, "r"), feature_statistics(samples, "s")));
  EXPECT_EQ(q.kid.mean, kernel_inception_distance(reference, samples, kid).mean);
  EXPECT_NEAR(q.labels.conditional, std::log(2.0), 1e-15);
  const Json json = to_json(q, kid);
  EXPECT_EQ(json["fid"].get<double>(), q.fid);
  EXPECT_EQ(json["kid_subset_size"].get<int64_t>(), 20);
  EXPECT_EQ(json["sample_images"].get<int64_t>(), n - 10);
  expect_error([&] { image_quality(reference, samples, matrix(2, 2, {1, 0, 0, 1}), kid); }, "image_quality",
               "50 rows but the sample probabilities 2");
}

}  // namespace
}  // namespace trifecta::image_metrics
