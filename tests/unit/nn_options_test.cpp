// Layer options written as designated initializers (PyTorch's keyword arguments) reach the layer intact:
// every field named keeps its value and every field left out keeps its default. This guards the host ISA
// the project builds for (TRIFECTA_MARCH in CMakeLists.txt): with -march=icelake-server, g++ 12.2's SLP
// vectorizer stores one 32-byte broadcast of the stride over both `stride` and `padding` of
// `{.stride = 2}`, so the layer got padding 2 (it passes at -march=x86-64-v3, the default, and at -O1).
// Whether the compiler takes that path depends on the surrounding code, so each case sits in a function of
// its own, as the layers are built in user code, and more than one form of the bug's shape is tried.
#include <gtest/gtest.h>

#include "nn/nn.h"

namespace trifecta::nn {
namespace {

::testing::AssertionResult same(Size2d actual, Size2d expected, const char* what) {
  if (actual.h == expected.h && actual.w == expected.w) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " is (" << actual.h << ", " << actual.w << "), expected ("
                                       << expected.h << ", " << expected.w << ")";
}

void expect_options(const ConvTranspose2d& layer, Size2d stride, Size2d padding, Size2d output_padding,
                    Size2d dilation, bool bias) {
  EXPECT_TRUE(same(layer.options.stride, stride, "stride"));
  EXPECT_TRUE(same(layer.options.padding, padding, "padding"));
  EXPECT_TRUE(same(layer.options.output_padding, output_padding, "output_padding"));
  EXPECT_TRUE(same(layer.options.dilation, dilation, "dilation"));
  EXPECT_EQ(layer.options.bias, bias);
  EXPECT_EQ(layer.bias.defined(), bias);
}

void expect_options(const Conv2d& layer, Size2d stride, Size2d padding, Size2d dilation, bool bias) {
  EXPECT_TRUE(same(layer.options.stride, stride, "stride"));
  EXPECT_TRUE(same(layer.options.padding, padding, "padding"));
  EXPECT_TRUE(same(layer.options.dilation, dilation, "dilation"));
  EXPECT_EQ(layer.options.bias, bias);
  EXPECT_EQ(layer.bias.defined(), bias);
}

TEST(NnOptions, TransposedConvolutionKeepsTheDefaultsItWasNotGiven) {
  Generator g(2);
  ConvTranspose2d deconv(4, 3, 2, {.stride = 2}, &g);
  expect_options(deconv, 2, 0, 0, 1, true);
  // The layer as built computes with those options: 2x2 input, kernel 2, stride 2, no padding -> 4x4.
  EXPECT_EQ(deconv.forward(rand({1, 4, 2, 2}, {}, &g)).shape(), (Shape{1, 3, 4, 4}));
}

TEST(NnOptions, SharedPointerLayersKeepTheirOptions) {
  Generator g(3);
  const auto deconv = std::make_shared<ConvTranspose2d>(3, 5, 2, ConvTranspose2dOptions{.stride = 2}, &g);
  expect_options(*deconv, 2, 0, 0, 1, true);
  const auto conv = std::make_shared<Conv2d>(5, 3, 4, Conv2dOptions{.stride = 2}, &g);
  expect_options(*conv, 2, 0, 1, true);
}

TEST(NnOptions, EveryFieldCanBeNamed) {
  Generator g(4);
  ConvTranspose2d deconv(2, 3, {3, 2}, {.stride = {2, 3}, .padding = 1, .output_padding = {1, 0}, .dilation = 2, .bias = false},
                         &g);
  expect_options(deconv, {2, 3}, 1, {1, 0}, 2, false);
  Conv2d conv(3, 2, 3, {.stride = 2, .padding = {1, 0}, .dilation = {1, 2}, .bias = false}, &g);
  expect_options(conv, 2, {1, 0}, {1, 2}, false);
  Conv2d plain(3, 2, 3, {}, &g);
  expect_options(plain, 1, 0, 1, true);
}

TEST(NnOptions, LayersBuiltOneAfterAnotherKeepTheirOwnOptions) {
  Generator g(5);
  Conv2d conv(3, 4, 3, {}, &g);
  ConvTranspose2d deconv(4, 3, 2, {.stride = 2}, &g);
  ConvTranspose2d padded(4, 3, 4, {.stride = 2, .padding = 1}, &g);
  expect_options(conv, 1, 0, 1, true);
  expect_options(deconv, 2, 0, 0, 1, true);
  expect_options(padded, 2, 1, 0, 1, true);
}

}  // namespace
}  // namespace trifecta::nn
