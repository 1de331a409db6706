// Spectral normalization: PyTorch's names and shapes for the reparametrized state, sigma against the true
// largest singular value (an independent float64 power iteration run to convergence), when u and v move,
// the gradient through sigma against central differences in float64, and errors. (The match with
// torch.nn.utils.spectral_norm after one power iteration from the same u is in nn_golden_test.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "models/common/image_metrics/symmetric_eigen.h"
#include "nn/nn.h"

namespace trifecta::nn {
namespace {

std::vector<std::string> state_names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(name);
  return out;
}

Tensor state(const Module& m, const std::string& name) {
  for (const auto& [n, t] : m.state_dict())
    if (n == name) return t;
  throw Error("no state named " + name);
}

// The rows x cols matrix spectral norm sees: W with dim moved first, the rest flattened (row-major).
std::vector<double> host_matrix(const Tensor& weight, int64_t dim, int64_t& rows, int64_t& cols) {
  std::vector<int64_t> order{dim};
  for (int64_t d = 0; d < weight.ndim(); ++d)
    if (d != dim) order.push_back(d);
  const Tensor moved = weight.detach().permute(order);
  rows = weight.size(dim);
  cols = weight.numel() / rows;
  return moved.to(DType::Float64).to_vector<double>();
}

// Largest singular value by power iteration on W^T W, run far past convergence.
double largest_singular_value(const std::vector<double>& m, int64_t rows, int64_t cols) {
  std::vector<double> v(static_cast<size_t>(cols), 1.0), wv(static_cast<size_t>(rows));
  double sigma = 0;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    for (int64_t r = 0; r < rows; ++r) {
      wv[r] = 0;
      for (int64_t c = 0; c < cols; ++c) wv[r] += m[r * cols + c] * v[c];
    }
    double norm = 0;
    for (int64_t c = 0; c < cols; ++c) {
      v[c] = 0;
      for (int64_t r = 0; r < rows; ++r) v[c] += m[r * cols + c] * wv[r];
      norm += v[c] * v[c];
    }
    norm = std::sqrt(norm);
    for (double& x : v) x /= norm;
    sigma = std::sqrt(norm);  // ||W^T W v_prev|| -> sigma^2
  }
  return sigma;
}

double true_sigma(const Tensor& weight, int64_t dim) {
  int64_t rows = 0, cols = 0;
  const std::vector<double> m = host_matrix(weight, dim, rows, cols);
  return largest_singular_value(m, rows, cols);
}

TEST(NnSpectralNorm, StateUsesPyTorchsNamesAndShapes) {
  Generator g(1);
  auto linear = spectral_norm(std::make_shared<Linear>(6, 4, true, &g), {}, &g);
  EXPECT_EQ(state_names(*linear), (std::vector<std::string>{"bias", "weight_orig", "weight_u", "weight_v"}));
  EXPECT_TRUE(state(*linear, "weight_orig").same(linear->weight));
  EXPECT_EQ(state(*linear, "weight_u").shape(), (Shape{4}));
  EXPECT_EQ(state(*linear, "weight_v").shape(), (Shape{6}));
  EXPECT_NEAR(sum(square(state(*linear, "weight_u"))).item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(sum(square(state(*linear, "weight_v"))).item<float>(), 1.0, 1e-6);
  EXPECT_EQ(linear->named_parameters().size(), 2u);
  EXPECT_FALSE(state(*linear, "weight_u").requires_grad());

  auto conv = spectral_norm(std::make_shared<Conv2d>(3, 5, 2, Conv2dOptions{.bias = false}, &g), {}, &g);
  EXPECT_EQ(state_names(*conv), (std::vector<std::string>{"weight_orig", "weight_u", "weight_v"}));
  EXPECT_EQ(state(*conv, "weight_u").shape(), (Shape{5}));
  EXPECT_EQ(state(*conv, "weight_v").shape(), (Shape{12}));
  // ConvTranspose2d's output features are weight dim 1: u has out_channels entries.
  auto deconv = spectral_norm(std::make_shared<ConvTranspose2d>(3, 5, 2, ConvTranspose2dOptions{}, &g), {}, &g);
  EXPECT_EQ(state(*deconv, "weight_u").shape(), (Shape{5}));
  EXPECT_EQ(state(*deconv, "weight_v").shape(), (Shape{12}));

  Sequential seq{std::make_shared<Linear>(2, 2), spectral_norm(std::make_shared<Linear>(2, 3))};
  EXPECT_EQ(state_names(seq), (std::vector<std::string>{"0.weight", "0.bias", "1.bias", "1.weight_orig",
                                                        "1.weight_u", "1.weight_v"}));
}

// Training forwards run the power iteration; after enough of them sigma is the largest singular value, so
// the weight forward uses has spectral norm 1.
void expect_converges(WeightedLayer& layer, const Tensor& input, int64_t dim) {
  layer.to(DType::Float64);
  layer.train();
  for (int step = 0; step < 500; ++step) layer.forward(input);
  layer.eval();
  const Tensor effective = layer.effective_weight();
  const double sigma = true_sigma(layer.weight, dim);
  EXPECT_NEAR(true_sigma(effective, dim), 1.0, 1e-9) << layer.type_name();
  const std::vector<double> w = layer.weight.to_vector<double>(), e = effective.to_vector<double>();
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(e[i] * sigma, w[i], 1e-9 * (1 + std::abs(w[i])));
}

TEST(NnSpectralNorm, SigmaConvergesToTheLargestSingularValue) {
  Generator g(2);
  Linear linear(7, 5, true, &g);
  apply_spectral_norm(linear, {}, &g);
  expect_converges(linear, rand({2, 7}, DType::Float64, &g), 0);

  Conv2d conv(3, 4, 3, {}, &g);
  apply_spectral_norm(conv, {}, &g);
  expect_converges(conv, rand({1, 3, 4, 4}, DType::Float64, &g), 0);

  ConvTranspose2d deconv(4, 3, 2, {.stride = 2}, &g);
  apply_spectral_norm(deconv, {.n_power_iterations = 2}, &g);
  expect_converges(deconv, rand({1, 4, 2, 2}, DType::Float64, &g), 1);
}

// The same against LAPACK: sigma^2 is the largest eigenvalue of W^T W (dsyevd through
// image_metrics::symmetric_eigen), so after many power iterations ||W||_F / ||W / sigma||_F equals it.
void expect_sigma_is_lapacks(WeightedLayer& layer, const Tensor& input, int64_t dim) {
  layer.to(DType::Float64);
  layer.train();
  for (int step = 0; step < 2000; ++step) layer.forward(input);
  layer.eval();
  int64_t rows = 0, cols = 0;
  const std::vector<double> m = host_matrix(layer.weight, dim, rows, cols);
  std::vector<double> gram(static_cast<size_t>(cols * cols), 0.0);
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t r = 0; r < rows; ++r) gram[i * cols + j] += m[r * cols + i] * m[r * cols + j];
  const image_metrics::SymmetricEigen eigen = image_metrics::symmetric_eigen(gram, cols, "W^T W");
  const double largest_singular_value = std::sqrt(eigen.values.back());
  const double sigma = std::sqrt(sum(square(layer.weight)).item<double>() /
                                 sum(square(layer.effective_weight())).item<double>());
  EXPECT_NEAR(sigma, largest_singular_value, 1e-9 * largest_singular_value) << layer.type_name();
  // Not a trivial agreement: the second singular value is well apart, and sigma is no other norm.
  EXPECT_LT(std::sqrt(eigen.values[eigen.values.size() - 2]), 0.99 * largest_singular_value);
}

TEST(NnSpectralNorm, SigmaEqualsTheLargestSingularValueFromLapack) {
  Generator g(12);
  Linear linear(20, 12, true, &g);
  apply_spectral_norm(linear, {}, &g);
  expect_sigma_is_lapacks(linear, rand({2, 20}, DType::Float64, &g), 0);

  Conv2d conv(3, 8, 3, {}, &g);  // an 8 x 27 matrix
  apply_spectral_norm(conv, {}, &g);
  expect_sigma_is_lapacks(conv, rand({1, 3, 5, 5}, DType::Float64, &g), 0);
}

TEST(NnSpectralNorm, OnlyTrainingForwardsMoveUAndV) {
  Generator g(3);
  auto layer = spectral_norm(std::make_shared<Linear>(4, 3, true, &g), {}, &g);
  const Tensor u = state(*layer, "weight_u");
  const Tensor x = rand({2, 4}, {}, &g);
  layer->eval();
  const std::vector<float> u0 = u.to_vector<float>();
  const std::vector<float> y0 = layer->forward(x).to_vector<float>();
  EXPECT_EQ(layer->forward(x).to_vector<float>(), y0);
  EXPECT_EQ(u.to_vector<float>(), u0);
  layer->train();
  layer->forward(x);
  EXPECT_NE(u.to_vector<float>(), u0);
  EXPECT_NEAR(sum(square(u)).item<float>(), 1.0, 1e-5);

  auto frozen = spectral_norm(std::make_shared<Linear>(4, 3, true, &g), {.n_power_iterations = 0}, &g);
  const std::vector<float> v0 = state(*frozen, "weight_v").to_vector<float>();
  frozen->forward(x);
  EXPECT_EQ(state(*frozen, "weight_v").to_vector<float>(), v0);
}

// L = sum(forward(x) * w) as a function of weight_orig, evaluated in float64.
double loss_at(WeightedLayer& layer, const Tensor& x, const Tensor& w) {
  NoGradGuard no_grad;
  return sum(mul(layer.forward(x), w)).item<double>();
}

// The differences see sigma change with the weight; a backward that held sigma constant would miss that
// term and fail here.
void expect_gradient_matches_differences(WeightedLayer& layer, const Tensor& x) {
  layer.to(DType::Float64);
  layer.eval();  // u and v stay put, so L is a fixed function of weight_orig
  Generator g(4);
  const Tensor w = randn(layer.forward(x).shape(), DType::Float64, &g);
  layer.zero_grad();
  sum(mul(layer.forward(x), w)).backward();
  const std::vector<double> analytic = layer.weight.grad().to_vector<double>();
  const Tensor flat = layer.weight.detach().reshape({-1});
  const double step = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double original = flat.narrow(0, i, 1).item<double>();
    {
      NoGradGuard no_grad;
      fill_(flat.narrow(0, i, 1), original + step);
    }
    const double up = loss_at(layer, x, w);
    {
      NoGradGuard no_grad;
      fill_(flat.narrow(0, i, 1), original - step);
    }
    const double down = loss_at(layer, x, w);
    {
      NoGradGuard no_grad;
      fill_(flat.narrow(0, i, 1), original);
    }
    const double numeric = (up - down) / (2 * step);
    EXPECT_NEAR(analytic[i], numeric, 1e-6 * (1 + std::abs(numeric))) << layer.type_name() << " element " << i;
  }
}

TEST(NnSpectralNorm, GradientFlowsThroughSigma) {
  Generator g(5);
  Linear linear(5, 3, true, &g);
  apply_spectral_norm(linear, {}, &g);
  linear.forward(rand({1, 5}, {}, &g));  // one training step moves u and v off their start
  expect_gradient_matches_differences(linear, rand({2, 5}, DType::Float64, &g));

  ConvTranspose2d deconv(2, 3, 2, {.stride = 2}, &g);
  apply_spectral_norm(deconv, {}, &g);
  expect_gradient_matches_differences(deconv, rand({1, 2, 2, 2}, DType::Float64, &g));
}

TEST(NnSpectralNorm, TwoForwardsBeforeOneBackward) {
  // A GAN discriminator scores real and fake batches, then backpropagates both: the second forward's
  // power iteration must not disturb what the first one's backward reads.
  Generator g(6);
  auto disc = spectral_norm(std::make_shared<Linear>(4, 1, true, &g), {}, &g);
  const Tensor real = rand({3, 4}, {}, &g), fake = rand({3, 4}, {}, &g);
  const Tensor loss = sub(mean(disc->forward(real)), mean(disc->forward(fake)));
  EXPECT_NO_THROW(loss.backward());
  EXPECT_TRUE(disc->weight.grad().defined());
}

TEST(NnSpectralNorm, MovesWithTheLayerAndChecksItsArguments) {
  Generator g(7);
  auto layer = spectral_norm(std::make_shared<Linear>(3, 2, true, &g), {}, &g);
  layer->to(DType::Float64);
  EXPECT_EQ(state(*layer, "weight_u").dtype(), DType::Float64);
  EXPECT_EQ(layer->forward(rand({1, 3}, DType::Float64)).dtype(), DType::Float64);

  EXPECT_THROW(apply_spectral_norm(*layer), Error);  // already reparametrized
  Linear other(3, 2);
  EXPECT_THROW(apply_spectral_norm(other, {.dim = 2}), Error);
  EXPECT_THROW(apply_spectral_norm(other, {.n_power_iterations = -1}), Error);
  EXPECT_THROW(apply_spectral_norm(other, {.eps = 0}), Error);
  EXPECT_EQ(state_names(other), (std::vector<std::string>{"weight", "bias"}));  // a rejected call changes nothing
  Linear empty_layer(0, 2);
  EXPECT_THROW(apply_spectral_norm(empty_layer), Error);
}

}  // namespace
}  // namespace trifecta::nn
