// Initializers: the gain table and fans against PyTorch's values, the statistics of each draw over a large
// tensor against its formula, each layer's default initialization, and seeded reproducibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/nn.h"

namespace trifecta::nn {
namespace {

struct Stats {
  double mean, std, min, max;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = t.to(DType::Float64).to_vector<double>();
  double sum = 0, sum_sq = 0;
  for (double x : v) sum += x;
  const double mean = sum / static_cast<double>(v.size());
  for (double x : v) sum_sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sum_sq / static_cast<double>(v.size())), *std::min_element(v.begin(), v.end()),
          *std::max_element(v.begin(), v.end())};
}

// n independent draws: the sample mean is off by about std / sqrt(n) and the sample std by about
// std / sqrt(2n) (normal) or less (uniform); 6 of those is a bound a correct draw never misses in practice.
void expect_distribution(const Tensor& t, double mean, double std, const char* what) {
  const Stats s = stats_of(t);
  const double n = static_cast<double>(t.numel());
  EXPECT_NEAR(s.mean, mean, 6 * std / std::sqrt(n)) << what;
  EXPECT_NEAR(s.std, std, 6 * std / std::sqrt(2 * n)) << what;
}

void expect_uniform(const Tensor& t, double bound, const char* what) {
  const Stats s = stats_of(t);
  EXPECT_GE(s.min, -bound) << what;
  EXPECT_LT(s.max, bound) << what;
  EXPECT_GT(s.max, 0.99 * bound) << what;  // the whole interval is used
  EXPECT_LT(s.min, -0.99 * bound) << what;
  expect_distribution(t, 0.0, bound / std::sqrt(3.0), what);
}

TEST(NnInit, GainTableMatchesPyTorch) {
  using init::Nonlinearity;
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Linear), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Sigmoid), 1.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::Tanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::ReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::SELU), 0.75);
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU), std::sqrt(2.0 / (1.0 + 0.01 * 0.01)));
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU, 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(init::calculate_gain(Nonlinearity::LeakyReLU, std::sqrt(5.0)), std::sqrt(1.0 / 3.0));
}

TEST(NnInit, FansFollowPyTorchsLayout) {
  const init::Fans linear = init::calculate_fan_in_and_fan_out(empty({7, 3}));
  EXPECT_EQ(linear.fan_in, 3);
  EXPECT_EQ(linear.fan_out, 7);
  const init::Fans conv = init::calculate_fan_in_and_fan_out(empty({8, 3, 5, 4}));
  EXPECT_EQ(conv.fan_in, 3 * 20);
  EXPECT_EQ(conv.fan_out, 8 * 20);
  EXPECT_THROW(init::calculate_fan_in_and_fan_out(empty({5})), Error);
  EXPECT_THROW(init::calculate_fan_in_and_fan_out(Tensor()), Error);
}

TEST(NnInit, BasicDrawsHaveTheirDistributions) {
  Generator g(1);
  const Tensor t = empty({400, 500});
  init::uniform_(t, -0.5, 1.5, &g);
  const Stats s = stats_of(t);
  EXPECT_GE(s.min, -0.5);
  EXPECT_LT(s.max, 1.5);
  expect_distribution(t, 0.5, 2.0 / std::sqrt(12.0), "uniform_");
  init::normal_(t, 2.0, 0.3, &g);
  expect_distribution(t, 2.0, 0.3, "normal_");
  init::constant_(t, 0.25);
  EXPECT_EQ(stats_of(t).min, 0.25);
  EXPECT_EQ(stats_of(t).max, 0.25);
  init::zeros_(t);
  EXPECT_EQ(stats_of(t).max, 0.0);
  init::ones_(t);
  EXPECT_EQ(stats_of(t).min, 1.0);
}

TEST(NnInit, XavierMatchesGlorotsFormula) {
  Generator g(2);
  const Tensor t = empty({300, 200, 2, 2});  // fan_in 800, fan_out 1200
  const double gain = 1.7, std = gain * std::sqrt(2.0 / (800.0 + 1200.0));
  init::xavier_uniform_(t, gain, &g);
  expect_uniform(t, std::sqrt(3.0) * std, "xavier_uniform_");
  init::xavier_normal_(t, gain, &g);
  expect_distribution(t, 0.0, std, "xavier_normal_");
}

TEST(NnInit, KaimingMatchesHesFormula) {
  using init::FanMode;
  using init::Nonlinearity;
  Generator g(3);
  const Tensor t = empty({400, 100, 3, 3});  // fan_in 900, fan_out 3600
  init::kaiming_uniform_(t, 0.0, FanMode::FanIn, Nonlinearity::ReLU, &g);
  expect_uniform(t, std::sqrt(3.0) * std::sqrt(2.0) / 30.0, "kaiming_uniform_ relu fan_in");
  init::kaiming_normal_(t, 0.0, FanMode::FanOut, Nonlinearity::ReLU, &g);
  expect_distribution(t, 0.0, std::sqrt(2.0) / 60.0, "kaiming_normal_ relu fan_out");
  init::kaiming_normal_(t, 0.3, FanMode::FanIn, Nonlinearity::LeakyReLU, &g);
  expect_distribution(t, 0.0, std::sqrt(2.0 / 1.09) / 30.0, "kaiming_normal_ leaky 0.3");
  init::kaiming_uniform_(t, 0.0, FanMode::FanIn, Nonlinearity::Tanh, &g);
  expect_uniform(t, std::sqrt(3.0) * (5.0 / 3.0) / 30.0, "kaiming_uniform_ tanh");
}

TEST(NnInit, WritesParametersOutsideAutogradAndChecksItsInput) {
  Tensor p = zeros({20, 30}).requires_grad_();
  EXPECT_NO_THROW(init::kaiming_uniform_(p));
  EXPECT_TRUE(p.is_leaf() && p.requires_grad() && !p.grad_fn());
  EXPECT_GT(stats_of(p).max, 0.0);
  EXPECT_THROW(init::uniform_(zeros({3}, DType::Int64)), Error);
  EXPECT_THROW(init::uniform_(zeros({3}), 1.0, 0.0), Error);
  EXPECT_THROW(init::normal_(zeros({3}), 0.0, -1.0), Error);
  EXPECT_THROW(init::xavier_uniform_(zeros({3})), Error);  // needs 2 dims for its fans
  EXPECT_NO_THROW(init::kaiming_uniform_(zeros({0, 3})));    // nothing to draw
  EXPECT_NO_THROW(init::xavier_normal_(zeros({4, 0})));
}

TEST(NnInit, LayerDefaultsMatchPyTorch) {
  Generator g(4);
  // kaiming_uniform_(a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias shares the bound.
  Linear linear(400, 300, true, &g);
  expect_uniform(linear.weight, 1.0 / 20.0, "Linear weight");
  EXPECT_LE(stats_of(linear.bias).max, 1.0 / 20.0);
  EXPECT_GE(stats_of(linear.bias).min, -1.0 / 20.0);
  EXPECT_GT(stats_of(linear.bias).max, 0.5 / 20.0);

  Conv2d conv(16, 256, {5, 4}, {}, &g);  // fan_in 16 * 20 = 320
  expect_uniform(conv.weight, 1.0 / std::sqrt(320.0), "Conv2d weight");
  EXPECT_LE(stats_of(conv.bias).max, 1.0 / std::sqrt(320.0));
  EXPECT_EQ(conv.weight.shape(), (Shape{256, 16, 5, 4}));

  // The weight is [in, out, kh, kw], so fan_in is out * kh * kw = 36 * 9, not in * kh * kw.
  ConvTranspose2d deconv(300, 36, 3, {}, &g);
  EXPECT_EQ(deconv.weight.shape(), (Shape{300, 36, 3, 3}));
  expect_uniform(deconv.weight, 1.0 / std::sqrt(324.0), "ConvTranspose2d weight");
  EXPECT_LE(stats_of(deconv.bias).max, 1.0 / 18.0);
  EXPECT_GT(stats_of(deconv.bias).max, 0.5 / 18.0);

  BatchNorm2d bn(5);
  EXPECT_EQ(bn.weight.to_vector<float>(), std::vector<float>(5, 1.0f));
  EXPECT_EQ(bn.bias.to_vector<float>(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(bn.running_mean.to_vector<float>(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(bn.running_var.to_vector<float>(), std::vector<float>(5, 1.0f));
  EXPECT_EQ(bn.num_batches_tracked.dtype(), DType::Int64);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 0);

  LayerNorm ln(Shape{2, 3});
  EXPECT_EQ(ln.weight.to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(ln.bias.to_vector<float>(), std::vector<float>(6, 0.0f));

  Embedding embedding(1000, 200, 3, &g);
  const std::vector<float> row = embedding.weight.select(0, 3).to_vector<float>();
  EXPECT_EQ(row, std::vector<float>(200, 0.0f));
  expect_distribution(embedding.weight.narrow(0, 4, 996), 0.0, 1.0, "Embedding weight");
}

TEST(NnInit, ASeedReproducesAModel) {
  const auto make = [](uint64_t seed) {
    Generator g(seed);
    Sequential net{std::make_shared<Conv2d>(2, 3, 3, Conv2dOptions{}, &g), std::make_shared<Flatten>(),
                   std::make_shared<Linear>(12, 4, true, &g)};
    std::vector<float> values;
    for (const Tensor& p : net.parameters())
      for (float v : p.to_vector<float>()) values.push_back(v);
    return values;
  };
  EXPECT_EQ(make(11), make(11));
  EXPECT_NE(make(11), make(12));
  // Layers drawn one after another from one generator get different numbers.
  Generator g(5);
  Linear a(8, 8, false, &g), b(8, 8, false, &g);
  EXPECT_NE(a.weight.to_vector<float>(), b.weight.to_vector<float>());
}

TEST(NnInit, DrawsAreTheSameOnCpuAndCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  Generator on_cpu(9), on_cuda(9);
  const Tensor cpu = empty({64, 33}), cuda = empty({64, 33}, kCUDA);
  init::kaiming_normal_(cpu, 0.1, init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, &on_cpu);
  init::kaiming_normal_(cuda, 0.1, init::FanMode::FanIn, init::Nonlinearity::LeakyReLU, &on_cuda);
  const std::vector<float> a = cpu.to_vector<float>(), b = cuda.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6 * (1 + std::abs(a[i])));
}

}  // namespace
}  // namespace trifecta::nn
