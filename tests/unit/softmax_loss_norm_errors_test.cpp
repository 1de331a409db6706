// Misuse of softmax, log_softmax, cross_entropy and layer_norm is a clear Error naming the op and what was
// wrong (never a crash or a silently wrong result): bad dims, dtypes, shapes and devices, and cross-entropy
// targets out of range, which the CUDA kernel reports through a device-side flag (skipped without a GPU).
// Also a few numerical edge cases the op specs' random inputs do not reach.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_op_error;

TEST(SoftmaxErrors, BadDimAndDtype) {
  const Tensor x = ones({2, 3});
  expect_op_error([&] { softmax(x, 2); }, "softmax", "dim");
  expect_op_error([&] { log_softmax(x, -3); }, "log_softmax", "dim");
  expect_op_error([&] { softmax(ones({2, 3}, DType::Int64), 1); }, "softmax", "floating");
  expect_op_error([&] { softmax(scalar_tensor(1.0), 1); }, "softmax", "0-dim");
}

TEST(SoftmaxEdges, MaskedAndExtremeRows) {
  const double inf = std::numeric_limits<double>::infinity();
  // -inf entries (masked logits) get probability 0 and leave the rest a proper distribution.
  const std::vector<double> y = softmax(from_vector<double>({-inf, 0.0, -inf, 0.0}, {1, 4}), 1).to_vector<double>();
  EXPECT_EQ(y[0], 0.0);
  EXPECT_DOUBLE_EQ(y[1], 0.5);
  EXPECT_DOUBLE_EQ(y[3], 0.5);
  // Large logits do not overflow.
  const std::vector<float> z = softmax(from_vector<float>({1000.f, 1000.f}, {2}), 0).to_vector<float>();
  EXPECT_FLOAT_EQ(z[0], 0.5f);
  const std::vector<float> lz = log_softmax(from_vector<float>({-1000.f, 0.f}, {2}), 0).to_vector<float>();
  EXPECT_FLOAT_EQ(lz[0], -1000.f);
  EXPECT_FLOAT_EQ(lz[1], 0.f);
  // NaN propagates to its row.
  const std::vector<double> n = softmax(from_vector<double>({NAN, 1.0}, {2}), 0).to_vector<double>();
  EXPECT_TRUE(std::isnan(n[0]) && std::isnan(n[1]));
}

// The CPU folds a contiguous row in two vectorized passes (max, then sum of exponentials) and a strided
// row online; the two must agree on every kind of row, special values included.
TEST(SoftmaxEdges, ContiguousAndStridedFoldsAgree) {
  const float inf = std::numeric_limits<float>::infinity();
  constexpr int64_t n = 37;  // two 16-lane blocks and a tail
  std::vector<float> values;
  for (int row = 0; row < 6; ++row)
    for (int64_t col = 0; col < n; ++col) values.push_back(0.25f * static_cast<float>((row * 7 + col * 5) % 11) - 1.f);
  values[1 * n + 20] = inf;                                         // one +inf
  values[2 * n + 3] = inf, values[2 * n + 30] = inf;                // two +inf
  values[3 * n + 17] = NAN;                                         // NaN
  for (int64_t col = 0; col < n; ++col) values[4 * n + col] = -inf;  // all masked
  values[5 * n + 0] = -inf, values[5 * n + 36] = -inf;              // partly masked
  const Tensor x = from_vector<float>(values, {6, n});
  const Tensor x_columns = x.t().contiguous();  // the same rows, now along dim 0: the strided (online) fold
  for (const bool is_log : {false, true}) {
    const Tensor contiguous = is_log ? log_softmax(x, 1) : softmax(x, 1);
    const Tensor strided = (is_log ? log_softmax(x_columns, 0) : softmax(x_columns, 0)).t().contiguous();
    const std::vector<float> a = contiguous.to_vector<float>(), b = strided.to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::isnan(b[i])) {
        EXPECT_TRUE(std::isnan(a[i])) << "element " << i << " (log " << is_log << "): " << a[i] << " vs NaN";
      } else if (std::isinf(b[i])) {
        EXPECT_EQ(a[i], b[i]) << "element " << i << " (log " << is_log << ")";
      } else {
        EXPECT_NEAR(a[i], b[i], 1e-6f * std::max(1.f, std::abs(b[i])))
            << "element " << i << " (log " << is_log << ")";
      }
    }
  }
}

TEST(CrossEntropyErrors, TargetsOutOfRange) {
  const Tensor logits = zeros({3, 4});
  expect_op_error(
      [&] {
        cross_entropy(logits, from_vector<int64_t>({0, 4, 1}, {3}));
      },
      "cross_entropy", "target 4 (row 1)");
  expect_op_error(
      [&] {
        cross_entropy(logits, from_vector<int64_t>({0, 1, -1}, {3}));
      },
      "cross_entropy", "target -1 (row 2)");
  // ignore_index itself is fine, even when negative.
  EXPECT_NO_THROW(cross_entropy(logits, from_vector<int64_t>({0, -100, 1}, {3})));
}

TEST(CrossEntropyErrors, BadArguments) {
  const Tensor logits = zeros({3, 4}), targets = from_vector<int64_t>({0, 1, 2}, {3});
  expect_op_error([&] { cross_entropy(logits, targets.to(DType::Int32)); }, "cross_entropy", "int64");
  expect_op_error([&] { cross_entropy(logits, from_vector<int64_t>({0, 1}, {2})); }, "cross_entropy", "do not match");
  expect_op_error([&] { cross_entropy(zeros({2, 3, 4}), targets); }, "cross_entropy", "[N, C] or [C]");
  expect_op_error([&] { cross_entropy(logits.to(DType::Int64), targets); }, "cross_entropy", "floating");
  expect_op_error([&] { cross_entropy(logits, targets, 1.5); }, "cross_entropy", "label_smoothing");
  expect_op_error([&] { cross_entropy(zeros({3, 0}), targets); }, "cross_entropy", "no classes");
}

TEST(CrossEntropyEdges, MeanOverNoCountedSamplesIsNan) {
  const Tensor loss = cross_entropy(zeros({2, 3}), from_vector<int64_t>({-100, -100}, {2}));
  EXPECT_TRUE(std::isnan(loss.item<float>()));
}

TEST(CrossEntropyEdges, MaskedLogitWithoutSmoothingStaysFinite) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor loss = cross_entropy(from_vector<float>({-inf, 0.f, 0.f}, {1, 3}), from_vector<int64_t>({1}, {1}));
  EXPECT_FLOAT_EQ(loss.item<float>(), std::log(2.f));
}

TEST(CrossEntropyErrors, TargetsOutOfRangeOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  const Tensor logits = zeros({5, 4}, kCUDA);
  expect_op_error(
      [&] {
        cross_entropy(logits, from_vector<int64_t>({0, 1, 7, 2, 9}, {5}).to(kCUDA));
      },
      "cross_entropy", "target 7 (row 2)");
  expect_op_error(
      [&] {
        cross_entropy(zeros({2, 3000}, kCUDA), from_vector<int64_t>({0, -5}, {2}).to(kCUDA));
      },
      "cross_entropy", "target -5 (row 1)");
  // The device is still usable afterwards.
  EXPECT_NO_THROW(cross_entropy(logits, from_vector<int64_t>({0, 1, 2, 3, -100}, {5}).to(kCUDA)).item<float>());
}

TEST(LayerNormErrors, BadShapes) {
  const Tensor x = ones({2, 3, 4});
  expect_op_error([&] { layer_norm(x, Shape{3}); }, "layer_norm", "does not match");
  expect_op_error([&] { layer_norm(x, Shape{2, 3, 4, 1}); }, "layer_norm", "does not match");
  expect_op_error([&] { layer_norm(x, Shape{}); }, "layer_norm", "at least one dim");
  expect_op_error([&] { layer_norm(x, Shape{4}, ones({3})); }, "layer_norm", "weight must have shape [4]");
  expect_op_error([&] { layer_norm(x, Shape{4}, ones({4}), ones({4}, DType::Float64)); }, "layer_norm", "bias must have");
  expect_op_error([&] { layer_norm(ones({2, 4}, DType::Int32), Shape{4}); }, "layer_norm", "floating");
}

TEST(LayerNormEdges, LargeMeanKeepsVarianceAccurate) {
  // Welford's update: a naive E[x^2] - E[x]^2 in float32 would lose the variance of a row centred at 1e4.
  std::vector<float> values;
  for (int i = 0; i < 64; ++i) values.push_back(10000.f + static_cast<float>(i % 2 ? 1 : -1));
  const std::vector<float> y =
      layer_norm(from_vector<float>(values, {1, 64}), Shape{64}, Tensor(), Tensor(), 0.0).to_vector<float>();
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(y[i], i % 2 ? 1.f : -1.f, 1e-4f);
}

}  // namespace
}  // namespace trifecta
