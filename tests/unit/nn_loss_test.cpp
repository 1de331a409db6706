// Losses against plain-loop float64 references, their reductions, gradients against central differences in
// float64, numerical stability at extreme logits, and errors. (Their match with PyTorch is in
// nn_golden_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <vector>

#include "nn/nn.h"

namespace trifecta::nn {
namespace {

std::vector<double> values(const Tensor& t) { return t.to(DType::Float64).to_vector<double>(); }

void expect_values(const Tensor& actual, const std::vector<double>& expected, double tol, const char* what) {
  const std::vector<double> a = values(actual);
  ASSERT_EQ(a.size(), expected.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_NEAR(a[i], expected[i], tol * (1 + std::abs(expected[i]))) << what << " " << i;
}

double total(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// Checks the gradient of L = sum(loss(inputs) * w) for every float64 input that requires grad against
// central differences.
void expect_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& loss, std::vector<Tensor> inputs) {
  for (Tensor& t : inputs) {
    t = t.detach().clone();  // fresh leaves: no gradient left over from an earlier check
    if (is_floating(t.dtype())) t.requires_grad_();
  }
  Generator g(11);
  const Tensor w = randn(loss(inputs).shape(), DType::Float64, &g);
  sum(mul(loss(inputs), w)).backward();
  const double step = 1e-6;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].requires_grad()) continue;
    const std::vector<double> analytic = values(inputs[k].grad());
    const Tensor flat = inputs[k].detach().reshape({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double original = flat.narrow(0, i, 1).item<double>();
      const auto at = [&](double value) {
        NoGradGuard no_grad;
        fill_(flat.narrow(0, i, 1), value);
        return sum(mul(loss(inputs), w)).item<double>();
      };
      const double numeric = (at(original + step) - at(original - step)) / (2 * step);
      at(original);
      EXPECT_NEAR(analytic[i], numeric, 1e-6 * (1 + std::abs(numeric))) << "input " << k << " element " << i;
    }
  }
}

Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return randn(shape, DType::Float64, &g);
}

TEST(NnLoss, MseLossAndItsReductions) {
  const Tensor a = randn64({3, 4}, 1), b = randn64({3, 4}, 2);
  std::vector<double> squares;
  const std::vector<double> av = values(a), bv = values(b);
  for (size_t i = 0; i < av.size(); ++i) squares.push_back((av[i] - bv[i]) * (av[i] - bv[i]));
  expect_values(mse_loss(a, b, LossReduction::None), squares, 1e-12, "none");
  expect_values(mse_loss(a, b, LossReduction::Sum), {total(squares)}, 1e-12, "sum");
  expect_values(mse_loss(a, b), {total(squares) / 12}, 1e-12, "mean");
  EXPECT_EQ(mse_loss(a, b).ndim(), 0);
  expect_gradients([](const auto& in) { return mse_loss(in[0], in[1], LossReduction::None); }, {a, b});
  EXPECT_THROW(mse_loss(a, randn64({4, 3}, 3)), Error);
  EXPECT_THROW(mse_loss(a, b.to(DType::Float32)), Error);
}

double bce_reference(double x, double y) {
  const double p = 1 / (1 + std::exp(-x));
  return -(y * std::log(p) + (1 - y) * std::log(1 - p));
}

TEST(NnLoss, BinaryCrossEntropyWithLogits) {
  const Tensor x = mul(randn64({4, 5}, 4), 3.0), y = rand({4, 5}, DType::Float64);
  std::vector<double> expected;
  const std::vector<double> xv = values(x), yv = values(y);
  for (size_t i = 0; i < xv.size(); ++i) expected.push_back(bce_reference(xv[i], yv[i]));
  expect_values(binary_cross_entropy_with_logits(x, y, LossReduction::None), expected, 1e-10, "none");
  expect_values(binary_cross_entropy_with_logits(x, y), {total(expected) / 20}, 1e-10, "mean");
  expect_values(binary_cross_entropy_with_logits(x, y, LossReduction::Sum), {total(expected)}, 1e-10, "sum");
  expect_gradients([](const auto& in) { return binary_cross_entropy_with_logits(in[0], in[1], LossReduction::None); },
                   {x, y});
}

TEST(NnLoss, BinaryCrossEntropyIsStableAtExtremeLogits) {
  // exp(200) overflows float32 and float64 alike; the loss must stay finite and exact.
  const Tensor x = from_vector<float>({200, -200, 90, -90, 0}, {5});
  const Tensor y = from_vector<float>({0, 1, 1, 0, 1}, {5});
  expect_values(binary_cross_entropy_with_logits(x, y, LossReduction::None), {200, 200, 0, 0, std::log(2.0)}, 1e-6,
                "extremes");
  // The gradient is sigmoid(x) - y, at x = 0 too (where max and |x| have kinks).
  Tensor logits = from_vector<double>({0, 0, 3, -3}, {4}).requires_grad_();
  const Tensor targets = from_vector<double>({0, 1, 0.25, 0.5}, {4});
  binary_cross_entropy_with_logits(logits, targets, LossReduction::Sum).backward();
  const double s3 = 1 / (1 + std::exp(-3.0));
  expect_values(logits.grad(), {0.5, -0.5, s3 - 0.25, (1 - s3) - 0.5}, 1e-12, "gradient");
}

TEST(NnLoss, CrossEntropyKDimensionalForm) {
  // [N, C, d1, d2] against [N, d1, d2] is the [N * d1 * d2, C] form with classes moved last.
  const Tensor logits = randn64({2, 3, 2, 4}, 5);
  const Tensor targets = from_vector<int64_t>({0, 2, 1, 1, 0, 2, 2, 1, 0, 0, 1, 2, 2, 2, 0, 1}, {2, 2, 4});
  const Tensor rows = logits.permute({0, 2, 3, 1}).reshape({-1, 3});
  const Tensor flat_targets = targets.reshape({-1});
  const Tensor none = nn::cross_entropy(logits, targets, LossReduction::None);
  EXPECT_EQ(none.shape(), (Shape{2, 2, 4}));
  expect_values(none, values(trifecta::cross_entropy(rows, flat_targets, 0.0, -100, LossReduction::None)), 1e-12,
                "none");
  expect_values(nn::cross_entropy(logits, targets, LossReduction::Mean, 0.1, 2),
                values(trifecta::cross_entropy(rows, flat_targets, 0.1, 2, LossReduction::Mean)), 1e-12, "mean");
  expect_values(nn::cross_entropy(rows, flat_targets, LossReduction::Sum),
                values(trifecta::cross_entropy(rows, flat_targets, 0.0, -100, LossReduction::Sum)), 1e-12, "2-D");
  expect_gradients([&](const auto& in) { return nn::cross_entropy(in[0], targets, LossReduction::None); }, {logits});
  EXPECT_THROW(nn::cross_entropy(logits, targets.reshape({2, 8})), Error);
  EXPECT_THROW(nn::cross_entropy(logits, Tensor()), Error);
  EXPECT_THROW(nn::cross_entropy(Tensor(), targets), Error);
}

TEST(NnLoss, GaussianNllWithLearnedScale) {
  const Tensor x = randn64({3, 2, 2}, 7), mu = randn64({3, 2, 2}, 8);
  const Tensor log_gamma = scalar_tensor(-0.4, DType::Float64);
  const double gamma = std::exp(-0.4), half_log_two_pi = 0.5 * std::log(2 * std::numbers::pi);
  const std::vector<double> xv = values(x), mv = values(mu);
  std::vector<double> per_example(3, 0.0);
  for (size_t i = 0; i < xv.size(); ++i)
    per_example[i / 4] += (xv[i] - mv[i]) * (xv[i] - mv[i]) / (2 * gamma * gamma) + std::log(gamma) + half_log_two_pi;
  expect_values(gaussian_nll(x, mu, log_gamma, LossReduction::None), per_example, 1e-12, "none");
  expect_values(gaussian_nll(x, mu, log_gamma), {total(per_example) / 3}, 1e-12, "mean over examples");
  expect_values(gaussian_nll(x, mu, log_gamma, LossReduction::Sum), {total(per_example)}, 1e-12, "sum");
  expect_gradients([](const auto& in) { return gaussian_nll(in[0], in[1], in[2], LossReduction::None); },
                   {x, mu, log_gamma});
  // A per-dim scale broadcasts over the batch; a rank-1 input is one value per example.
  expect_gradients([](const auto& in) { return gaussian_nll(in[0], in[1], in[2]); },
                   {x, mu, mul(randn64({2, 2}, 9), 0.3)});
  expect_values(gaussian_nll(from_vector<double>({1, 2}, {2}), from_vector<double>({1, 0}, {2}),
                             scalar_tensor(0.0, DType::Float64), LossReduction::None),
                {half_log_two_pi, 2 + half_log_two_pi}, 1e-12, "rank 1");

  EXPECT_THROW(gaussian_nll(x, mu, randn64({3}, 1)), Error);           // does not broadcast to x
  EXPECT_THROW(gaussian_nll(x, mu, randn64({4, 3, 2, 2}, 1)), Error);  // would broadcast x up
  EXPECT_THROW(gaussian_nll(x, mu, scalar_tensor(0.0)), Error);         // float32 against float64
  EXPECT_THROW(gaussian_nll(scalar_tensor(1.0), scalar_tensor(1.0), scalar_tensor(0.0)), Error);
  EXPECT_THROW(gaussian_nll(x, randn64({3, 4}, 1), log_gamma), Error);
}

TEST(NnLoss, KlOfDiagonalGaussianFromStandardNormal) {
  const Tensor mu = randn64({4, 3}, 10), logvar = randn64({4, 3}, 12);
  const std::vector<double> m = values(mu), lv = values(logvar);
  std::vector<double> per_example(4, 0.0);
  for (size_t i = 0; i < m.size(); ++i) per_example[i / 3] += 0.5 * (m[i] * m[i] + std::exp(lv[i]) - 1 - lv[i]);
  expect_values(kl_diag_gaussian_standard(mu, logvar, LossReduction::None), per_example, 1e-12, "none");
  expect_values(kl_diag_gaussian_standard(mu, logvar), {total(per_example) / 4}, 1e-12, "mean");
  expect_values(kl_diag_gaussian_standard(mu, logvar, LossReduction::Sum), {total(per_example)}, 1e-12, "sum");
  for (double v : values(kl_diag_gaussian_standard(mu, logvar, LossReduction::None))) EXPECT_GE(v, 0.0);
  // The prior itself is at distance 0.
  expect_values(kl_diag_gaussian_standard(zeros({2, 5}), zeros({2, 5}), LossReduction::None), {0, 0}, 0, "prior");
  expect_gradients([](const auto& in) { return kl_diag_gaussian_standard(in[0], in[1], LossReduction::None); },
                   {randn64({2, 2, 2}, 13), randn64({2, 2, 2}, 14)});
  EXPECT_THROW(kl_diag_gaussian_standard(mu, randn64({3, 4}, 1)), Error);
  EXPECT_THROW(kl_diag_gaussian_standard(scalar_tensor(0.0), scalar_tensor(0.0)), Error);
  EXPECT_THROW(kl_diag_gaussian_standard(zeros({2}, DType::Int64), zeros({2}, DType::Int64)), Error);
}

double hinge_positive(double x) { return x > 0 ? x : 0; }

TEST(NnLoss, HingeLossesOfAGan) {
  // Real and fake batches of different sizes and shapes: each mean is over its own scores.
  const Tensor real = mul(randn64({5, 1}, 20), 2.0), fake = mul(randn64({3}, 21), 2.0);
  const std::vector<double> r = values(real), f = values(fake);
  double real_term = 0, fake_term = 0, fake_mean = 0;
  for (double x : r) real_term += hinge_positive(1 - x) / r.size();
  for (double x : f) fake_term += hinge_positive(1 + x) / f.size();
  for (double x : f) fake_mean += x / f.size();
  expect_values(hinge_discriminator_loss(real, fake), {real_term + fake_term}, 1e-12, "discriminator");
  expect_values(hinge_generator_loss(fake), {-fake_mean}, 1e-12, "generator");
  // Scores past the margins (real above 1, fake below -1) cost the discriminator nothing.
  expect_values(hinge_discriminator_loss(from_vector<double>({1.5, 3}, {2}), from_vector<double>({-2, -1.25}, {2})),
                {0}, 0, "past the margins");
  expect_values(hinge_discriminator_loss(from_vector<double>({0.5}, {1}), from_vector<double>({0.25}, {1})),
                {0.5 + 1.25}, 1e-15, "inside the margins");
  // The gradient, away from the kinks at +-1 (random scores never sit on them).
  expect_gradients([](const auto& in) { return hinge_discriminator_loss(in[0], in[1]); },
                   {randn64({4, 1}, 22), randn64({6, 1}, 23)});
  expect_gradients([](const auto& in) { return hinge_generator_loss(in[0]); }, {randn64({4, 1}, 24)});
  EXPECT_THROW(hinge_discriminator_loss(real, Tensor()), Error);
  EXPECT_THROW(hinge_discriminator_loss(real, zeros({0})), Error);
  EXPECT_THROW(hinge_discriminator_loss(real, zeros({3}, DType::Float32)), Error);  // dtypes differ
  EXPECT_THROW(hinge_generator_loss(zeros({2}, DType::Int64)), Error);
}

}  // namespace
}  // namespace trifecta::nn
