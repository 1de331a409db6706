// The WAE's MMD estimate (nn/mmd.h) against a plain-loop float64 reference of the same formula, its gradient
// against central differences, its behaviour as a two-sample statistic, and its errors.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "nn/mmd.h"
#include "tests/harness/expect_error.h"

namespace trifecta::nn {
namespace {

// The estimator written out loop by loop, in doubles: the off-diagonal within-sample kernel sums over
// n(n-1), the cross sum over n^2, every kernel a sum over the scales.
double reference_mmd(const std::vector<double>& q, const std::vector<double>& p, int64_t n, int64_t d,
                     double prior_variance) {
  const auto kernel = [&](const std::vector<double>& a, int64_t i, const std::vector<double>& b, int64_t j) {
    double squared = 0;
    for (int64_t k = 0; k < d; ++k) squared += (a[i * d + k] - b[j * d + k]) * (a[i * d + k] - b[j * d + k]);
    double value = 0;
    for (const double s : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0}) {
      const double c = s * 2.0 * static_cast<double>(d) * prior_variance;
      value += c / (c + squared);
    }
    return value;
  };
  double within = 0, across = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (i != j) within += kernel(p, i, p, j) + kernel(q, i, q, j);
      across += kernel(q, i, p, j);
    }
  const double nn = static_cast<double>(n);
  return within / (nn * (nn - 1)) - 2 * across / (nn * nn);
}

TEST(Mmd, MatchesThePlainLoopReference) {
  Generator g(3);
  for (const auto& [n, d, variance] : {std::tuple{2, 1, 1.0}, {5, 3, 1.0}, {16, 8, 2.0}, {9, 64, 0.5}}) {
    const Tensor q = add(mul(randn({n, d}, DType::Float64, &g), 1.3), 0.4), p = randn({n, d}, DType::Float64, &g);
    const double expected = reference_mmd(q.to_vector<double>(), p.to_vector<double>(), n, d, variance);
    EXPECT_NEAR(mmd_inverse_multiquadratic(q, p, variance).item<double>(), expected, 1e-12 * (1 + std::abs(expected)))
        << n << "x" << d;
    // float32 computes the same function to float rounding.
    EXPECT_NEAR(mmd_inverse_multiquadratic(q.to(DType::Float32), p.to(DType::Float32), variance).item<double>(),
                expected, 1e-4 * (1 + std::abs(expected)));
  }
}

TEST(Mmd, GradientMatchesCentralDifferences) {
  Generator g(5);
  const int64_t n = 6, d = 3;
  const Tensor q0 = add(randn({n, d}, DType::Float64, &g), 0.7), p0 = randn({n, d}, DType::Float64, &g);
  Tensor q = q0.clone().requires_grad_(), p = p0.clone().requires_grad_();
  mmd_inverse_multiquadratic(q, p, 1.0).backward();
  for (const bool wrt_q : {true, false}) {
    const std::vector<double> analytic = (wrt_q ? q : p).grad().to_vector<double>();
    std::vector<double> qv = q0.to_vector<double>(), pv = p0.to_vector<double>();
    std::vector<double>& moved = wrt_q ? qv : pv;
    for (size_t i = 0; i < moved.size(); ++i) {
      const double h = 1e-6, saved = moved[i];
      moved[i] = saved + h;
      const double plus = reference_mmd(qv, pv, n, d, 1.0);
      moved[i] = saved - h;
      const double minus = reference_mmd(qv, pv, n, d, 1.0);
      moved[i] = saved;
      EXPECT_NEAR(analytic[i], (plus - minus) / (2 * h), 1e-7) << (wrt_q ? "q" : "p") << " element " << i;
    }
  }
}

// As a two-sample statistic: near zero (either sign, being unbiased) for two samples of one distribution,
// clearly positive when one is shifted, and growing with the shift.
TEST(Mmd, SeparatesDistributions) {
  Generator g(9);
  const int64_t n = 200, d = 8;
  const Tensor p = randn({n, d}, DType::Float64, &g), same = randn({n, d}, DType::Float64, &g);
  const double null_value = mmd_inverse_multiquadratic(same, p).item<double>();
  const double small_shift = mmd_inverse_multiquadratic(add(same, 0.5), p).item<double>();
  const double large_shift = mmd_inverse_multiquadratic(add(same, 2.0), p).item<double>();
  EXPECT_LT(std::abs(null_value), 0.01);
  EXPECT_GT(small_shift, 5 * std::abs(null_value));
  EXPECT_GT(large_shift, small_shift);
}

TEST(Mmd, BadInputIsAClearError) {
  const Tensor a = zeros({4, 3}), b = zeros({4, 2});
  testing::expect_error([&] { mmd_inverse_multiquadratic(a, b); }, "mmd_inverse_multiquadratic", "one shape");
  testing::expect_error([&] { mmd_inverse_multiquadratic(zeros({1, 3}), zeros({1, 3})); }, "n >= 2");
  testing::expect_error([&] { mmd_inverse_multiquadratic(zeros({4}), zeros({4})); }, "[n, d]");
  testing::expect_error([&] { mmd_inverse_multiquadratic(a, a, 0.0); }, "prior_variance");
  testing::expect_error([&] { mmd_inverse_multiquadratic(a, a.to(DType::Float64)); }, "dtype");
}

}  // namespace
}  // namespace trifecta::nn
