// Each layer's shapes, parameter names, modes and errors (their values against PyTorch are in
// nn_golden_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace trifecta::nn {
namespace {

std::vector<std::string> state_names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(name);
  return out;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NnLinear, ShapesNamesAndErrors) {
  Linear layer(4, 3);
  EXPECT_EQ(state_names(layer), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(layer.weight.shape(), (Shape{3, 4}));
  EXPECT_EQ(layer.bias.shape(), (Shape{3}));
  EXPECT_EQ(layer.forward(rand({2, 5, 4})).shape(), (Shape{2, 5, 3}));
  EXPECT_EQ(layer.forward(rand({4})).shape(), (Shape{3}));
  // y = x W^T + b.
  const Tensor x = rand({2, 4});
  const std::vector<float> y = layer.forward(x).to_vector<float>();
  const std::vector<float> xv = x.to_vector<float>(), w = layer.weight.to_vector<float>();
  const std::vector<float> b = layer.bias.to_vector<float>();
  for (int i = 0; i < 2; ++i)
    for (int o = 0; o < 3; ++o) {
      double expected = b[o];
      for (int k = 0; k < 4; ++k) expected += xv[i * 4 + k] * w[o * 4 + k];
      EXPECT_NEAR(y[i * 3 + o], expected, 1e-5);
    }
  Linear no_bias(4, 3, false);
  EXPECT_EQ(state_names(no_bias), (std::vector<std::string>{"weight"}));
  EXPECT_FALSE(no_bias.bias.defined());
  const std::string message = error_of([&] { layer.forward(rand({2, 5})); });
  EXPECT_NE(message.find("Linear: expected an input [..., 4], got float32[2, 5]"), std::string::npos) << message;
  EXPECT_THROW(layer.forward(scalar_tensor(1.0)), Error);
  EXPECT_THROW(layer.forward(Tensor()), Error);
  EXPECT_THROW(layer.forward(rand({2, 4}, DType::Float64)), Error);
  EXPECT_THROW(Linear(-1, 3), Error);
}

TEST(NnConv, ShapesFollowTheOutputSizeFormulas) {
  Conv2d conv(3, 8, {3, 5}, {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}});
  EXPECT_EQ(state_names(conv), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(conv.weight.shape(), (Shape{8, 3, 3, 5}));
  // OH = (9 + 2 - 2 - 1) / 2 + 1 = 5; OW = (10 + 4 - 8 - 1) / 1 + 1 = 6.
  EXPECT_EQ(conv.forward(rand({2, 3, 9, 10})).shape(), (Shape{2, 8, 5, 6}));

  ConvTranspose2d deconv(8, 3, 4, {.stride = 2, .padding = 1, .output_padding = 1});
  EXPECT_EQ(deconv.weight.shape(), (Shape{8, 3, 4, 4}));
  EXPECT_EQ(deconv.output_dim(), 1);
  // OH = (5 - 1) * 2 - 2 + 3 + 1 + 1 = 11.
  EXPECT_EQ(deconv.forward(rand({2, 8, 5, 6})).shape(), (Shape{2, 3, 11, 13}));
  ConvTranspose2d no_bias(2, 2, 3, {.bias = false});
  EXPECT_EQ(state_names(no_bias), (std::vector<std::string>{"weight"}));
}

TEST(NnConv, ErrorsNameTheLayer) {
  Conv2d conv(3, 8, 3);
  std::string message = error_of([&] { conv.forward(rand({3, 9, 9})); });
  EXPECT_NE(message.find("Conv2d: expected an input [N, 3, H, W], got float32[3, 9, 9]"), std::string::npos)
      << message;
  EXPECT_THROW(conv.forward(rand({1, 4, 9, 9})), Error);
  EXPECT_THROW(conv.forward(rand({1, 3, 2, 2})), Error);  // smaller than the kernel
  EXPECT_THROW(Conv2d(0, 8, 3), Error);
  EXPECT_THROW(Conv2d(3, 8, 0), Error);
  EXPECT_THROW(Conv2d(3, 8, 3, {.stride = 0}), Error);
  EXPECT_THROW(Conv2d(3, 8, 3, {.padding = -1}), Error);
  EXPECT_THROW(Conv2d(3, 8, 3, {.dilation = {1, 0}}), Error);
  ConvTranspose2d deconv(2, 4, 3);
  EXPECT_THROW(deconv.forward(rand({1, 3, 4, 4})), Error);
  message = error_of([] { ConvTranspose2d(2, 4, 3, {.stride = 2, .output_padding = 2}); });
  EXPECT_NE(message.find("output_padding"), std::string::npos) << message;
  EXPECT_NO_THROW(ConvTranspose2d(2, 4, 3, {.stride = 1, .output_padding = 1, .dilation = 2}));
}

TEST(NnBatchNorm, TrainingUpdatesRunningStatisticsAndEvaluationUsesThem) {
  BatchNorm1d bn(2, {.momentum = 0.25});
  EXPECT_EQ(state_names(bn), (std::vector<std::string>{"weight", "bias", "running_mean", "running_var",
                                                        "num_batches_tracked"}));
  // Channel 0 holds 1, 3, 5 (mean 3, unbiased variance 4); channel 1 holds 2, 2, 8 (mean 4, variance 12).
  const Tensor x = from_vector<float>({1, 2, 3, 2, 5, 8}, {3, 2});
  const std::vector<float> y = bn.forward(x).to_vector<float>();
  EXPECT_NEAR(y[0], -2.0 / std::sqrt(8.0 / 3.0 + 1e-5), 1e-5);  // batch statistics, biased variance
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);
  EXPECT_NEAR(bn.running_mean.to_vector<float>()[0], 0.75, 1e-6);
  EXPECT_NEAR(bn.running_mean.to_vector<float>()[1], 1.0, 1e-6);
  EXPECT_NEAR(bn.running_var.to_vector<float>()[0], 0.75 + 0.25 * 4, 1e-6);
  EXPECT_NEAR(bn.running_var.to_vector<float>()[1], 0.75 + 0.25 * 12, 1e-5);

  bn.eval();
  const std::vector<float> z = bn.forward(x).to_vector<float>();
  EXPECT_NEAR(z[0], (1 - 0.75) / std::sqrt(1.75 + 1e-5), 1e-5);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 1);  // evaluation changes nothing
  EXPECT_NEAR(bn.running_mean.to_vector<float>()[0], 0.75, 1e-6);
}

TEST(NnBatchNorm, CumulativeAverageWithoutMomentum) {
  BatchNorm1d bn(1, {.momentum = std::nullopt});
  bn.forward(from_vector<float>({0, 2}, {2, 1}));
  bn.forward(from_vector<float>({4, 6, 8}, {3, 1}));
  // Averages of the batch means (1 and 6) and unbiased variances (2 and 4), weighted equally per batch,
  // starting from the initial running values only with weight 1 - 1/1 = 0.
  EXPECT_NEAR(bn.running_mean.item<float>(), 3.5, 1e-6);
  EXPECT_NEAR(bn.running_var.item<float>(), 3.0, 1e-6);
  EXPECT_EQ(bn.num_batches_tracked.item<int64_t>(), 2);
}

TEST(NnBatchNorm, UntrackedAndNonAffineLayers) {
  BatchNorm2d bn(3, {.affine = false, .track_running_stats = false});
  EXPECT_TRUE(state_names(bn).empty());
  bn.eval();
  const Tensor x = rand({2, 3, 4, 4});
  const Tensor y = bn.forward(x);  // batch statistics in evaluation too
  const std::vector<float> per_channel_mean = mean(y, {0, 2, 3}).to_vector<float>();
  for (float m : per_channel_mean) EXPECT_NEAR(m, 0.0, 1e-5);
  BatchNorm2d tracked(3, {.affine = false});
  EXPECT_EQ(state_names(tracked), (std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"}));
}

TEST(NnBatchNorm, ErrorsNameTheLayerAndExpectedShape) {
  BatchNorm2d bn2(3);
  std::string message = error_of([&] { bn2.forward(rand({2, 3, 4})); });
  EXPECT_NE(message.find("BatchNorm2d: expected an input [N, C, H, W] with C = 3, got float32[2, 3, 4]"),
            std::string::npos)
      << message;
  BatchNorm1d bn1(3);
  EXPECT_THROW(bn1.forward(rand({2, 3, 4, 4})), Error);
  EXPECT_THROW(bn1.forward(rand({2, 4})), Error);
  EXPECT_THROW(bn1.forward(rand({1, 3})), Error);  // one value per channel cannot give a batch variance
  EXPECT_EQ(bn1.num_batches_tracked.item<int64_t>(), 0);  // a rejected batch is not counted
  EXPECT_THROW(BatchNorm1d(0), Error);
  EXPECT_THROW(BatchNorm1d(3, {.eps = 0}), Error);
  EXPECT_THROW(BatchNorm1d(3, {.momentum = 1.5}), Error);
}

TEST(NnLayerNorm, NormalizesTheLastDims) {
  LayerNorm ln(Shape{3, 4}, {.eps = 1e-6});
  EXPECT_EQ(state_names(ln), (std::vector<std::string>{"weight", "bias"}));
  const Tensor y = ln.forward(mul(rand({5, 3, 4}), 10.0));
  for (float m : mean(y, {1, 2}).to_vector<float>()) EXPECT_NEAR(m, 0.0, 1e-5);
  for (float v : var(y, {1, 2}, 0.0).to_vector<float>()) EXPECT_NEAR(v, 1.0, 1e-4);
  LayerNorm no_bias(Shape{4}, {.bias = false});
  EXPECT_EQ(state_names(no_bias), (std::vector<std::string>{"weight"}));
  LayerNorm plain(Shape{4}, {.elementwise_affine = false});
  EXPECT_TRUE(state_names(plain).empty());
  EXPECT_EQ(plain.forward(rand({2, 4})).shape(), (Shape{2, 4}));
  EXPECT_THROW(ln.forward(rand({5, 4, 3})), Error);
  EXPECT_THROW(LayerNorm(Shape{}), Error);
  EXPECT_THROW(LayerNorm(Shape{0}), Error);
}

TEST(NnEmbedding, LooksUpRowsAndKeepsThePaddingRowFixed) {
  Embedding embedding(6, 3, -1);
  EXPECT_EQ(embedding.padding_idx, 5);
  EXPECT_EQ(state_names(embedding), (std::vector<std::string>{"weight"}));
  const Tensor indices = from_vector<int64_t>({0, 5, 2, 5}, {2, 2});
  const Tensor y = embedding.forward(indices);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.select(0, 1).select(0, 0).to_vector<float>(), embedding.weight.select(0, 2).to_vector<float>());
  sum(y).backward();
  const std::vector<float> grad = embedding.weight.grad().to_vector<float>();
  EXPECT_EQ(grad[0], 1.0f);
  EXPECT_EQ(grad[2 * 3], 1.0f);
  EXPECT_EQ(grad[5 * 3], 0.0f);  // the padding row
  EXPECT_THROW(embedding.forward(from_vector<int64_t>({6}, {1})), Error);
  EXPECT_THROW(embedding.forward(from_vector<float>({1}, {1})), Error);
  EXPECT_THROW(Embedding(6, 3, 6), Error);
  EXPECT_THROW(Embedding(6, 3, -7), Error);
  EXPECT_THROW(Embedding(0, 3), Error);
}

TEST(NnDropout, ActiveOnlyInTraining) {
  Generator g(7);
  Dropout drop(0.25, &g);
  const Tensor x = ones({100, 100});
  const std::vector<float> y = drop.forward(x).to_vector<float>();
  int64_t zeros_seen = 0;
  for (float v : y) {
    if (v == 0.0f)
      ++zeros_seen;
    else
      EXPECT_NEAR(v, 1.0 / 0.75, 1e-6);
  }
  EXPECT_NEAR(static_cast<double>(zeros_seen) / 10000.0, 0.25, 0.02);
  drop.eval();
  EXPECT_TRUE(drop.forward(x).same(x));
  EXPECT_THROW(Dropout(1.5), Error);
  EXPECT_THROW(Dropout(-0.1), Error);
}

TEST(NnActivation, ModulesApplyTheirOps) {
  const Tensor x = sub(mul(rand({3, 4}), 6.0), 3.0);
  const auto same = [&](UnaryModule&& m, const Tensor& expected) {
    EXPECT_EQ(m.forward(x).to_vector<float>(), expected.to_vector<float>()) << m.type_name();
    EXPECT_TRUE(m.state_dict().empty()) << m.type_name();
  };
  same(ReLU(), relu(x));
  same(LeakyReLU(0.2), leaky_relu(x, 0.2));
  same(ELU(0.5), elu(x, 0.5));
  same(GELU(), gelu(x));
  same(GELU(true), gelu(x, true));
  same(SiLU(), silu(x));
  same(Sigmoid(), sigmoid(x));
  same(Tanh(), tanh(x));
  same(Softplus(2.0, 4.0), softplus(x, 2.0, 4.0));
  EXPECT_EQ(LeakyReLU().negative_slope, 0.01);
}

TEST(NnFlatten, FlattenAndUnflattenAreInverse) {
  const Tensor x = rand({2, 3, 4, 5});
  Flatten flatten;
  EXPECT_EQ(flatten.forward(x).shape(), (Shape{2, 60}));
  EXPECT_EQ(Flatten(1, 2).forward(x).shape(), (Shape{2, 12, 5}));
  EXPECT_EQ(Flatten(0, -1).forward(x).shape(), (Shape{120}));
  Unflatten unflatten(1, {3, 4, 5});
  const Tensor back = unflatten.forward(flatten.forward(x));
  EXPECT_EQ(back.shape(), x.shape());
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(Unflatten(-1, {-1, 2}).forward(rand({3, 8})).shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(Unflatten(0, {1, 2}).forward(rand({2})).shape(), (Shape{1, 2}));
  const std::string message = error_of([] { Unflatten(1, {5, 2}).forward(rand({3, 8})); });
  EXPECT_NE(message.find("cannot split dim 1 of float32[3, 8] cpu into sizes [5, 2]"), std::string::npos) << message;
  EXPECT_THROW(Unflatten(1, {-1, 3}).forward(rand({3, 8})), Error);
  EXPECT_THROW(Unflatten(2, {2, 4}).forward(rand({3, 8})), Error);
  EXPECT_THROW(Unflatten(1, {-1, -1}), Error);
  EXPECT_THROW(Unflatten(1, {}), Error);
  EXPECT_THROW(Unflatten(1, {-2, 4}), Error);
  EXPECT_THROW(Flatten(3).forward(rand({2, 3})), Error);
}

}  // namespace
}  // namespace trifecta::nn
