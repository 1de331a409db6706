// batch_norm's running statistics against PyTorch's update rule, computed here in double from the batch:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// with M values per channel. Also: eval mode leaves them alone, the update is invisible to autograd but
// bumps their version, mixed precision (16-bit input, float32 statistics), and the errors of misuse.
// CUDA runs of the same checks skip without a device.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_op_error;

struct Expected {
  std::vector<double> mean, var;
};

// The running statistics after one training step on x (any rank >= 2), in double.
Expected expected_update(const Tensor& x, const std::vector<double>& running_mean,
                         const std::vector<double>& running_var, double momentum) {
  const std::vector<double> v = x.to_vector<double>();
  const int64_t batch = x.size(0), channels = x.size(1), spatial = x.numel() / (batch * channels);
  const double count = static_cast<double>(batch * spatial);
  Expected e{running_mean, running_var};
  for (int64_t c = 0; c < channels; ++c) {
    double mean = 0.0, m2 = 0.0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) mean += v[(n * channels + c) * spatial + s];
    mean /= count;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) m2 += std::pow(v[(n * channels + c) * spatial + s] - mean, 2);
    e.mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
    e.var[c] = (1 - momentum) * running_var[c] + momentum * m2 / (count - 1);
  }
  return e;
}

void expect_near(const std::vector<double>& actual, const std::vector<double>& expected, double tol, const char* what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << what << "[" << i << "]";
}

void check_one_step(const Shape& shape, DType dtype, DType stats_dtype, Device device, double momentum, double tol) {
  SCOPED_TRACE(shape.str() + " " + dtype_name(dtype) + " stats " + dtype_name(stats_dtype) + " on " + device.str());
  Generator gen(7);
  const int64_t channels = shape[1];
  // A large mean against the spread makes a naive E[x^2] - E[x]^2 variance visibly wrong.
  const Tensor x = add(randn(shape, DType::Float64, &gen), 3.0).to(dtype).to(device);
  const Tensor running_mean = randn({channels}, DType::Float64, &gen).to(stats_dtype).to(device);
  const Tensor running_var = uniform({channels}, 0.5, 2.0, DType::Float64, &gen).to(stats_dtype).to(device);
  const std::vector<double> mean0 = running_mean.to_vector<double>(), var0 = running_var.to_vector<double>();
  const Expected e = expected_update(x, mean0, var0, momentum);
  batch_norm(x, running_mean, running_var, Tensor(), Tensor(), /*training=*/true, momentum);
  expect_near(running_mean.to_vector<double>(), e.mean, tol, "running_mean");
  expect_near(running_var.to_vector<double>(), e.var, tol, "running_var");
}

TEST(BatchNormRunningStats, MatchFormulaOnCpu) {
  check_one_step({6, 3, 4, 5}, DType::Float64, DType::Float64, kCPU, 0.3, 1e-12);
  check_one_step({9, 4}, DType::Float64, DType::Float64, kCPU, 0.1, 1e-12);
  check_one_step({4, 3, 50}, DType::Float32, DType::Float32, kCPU, 0.1, 1e-5);
  check_one_step({5, 2, 3}, DType::Float32, DType::Float32, kCPU, 1.0, 1e-5);  // momentum 1: the batch statistics
}

TEST(BatchNormRunningStats, MixedPrecisionKeepsFloat32Statistics) {
  // The batch statistics of the (already rounded) 16-bit input are computed in float32 and stored unrounded.
  check_one_step({8, 3, 2, 2}, DType::BFloat16, DType::Float32, kCPU, 0.2, 1e-5);
  check_one_step({8, 3}, DType::Float16, DType::Float32, kCPU, 0.2, 1e-5);
}

TEST(BatchNormRunningStats, StepsCompound) {
  Generator gen(11);
  const Tensor running_mean = zeros({3}, DType::Float64), running_var = ones({3}, DType::Float64);
  std::vector<double> mean = running_mean.to_vector<double>(), var = running_var.to_vector<double>();
  for (int step = 0; step < 3; ++step) {
    const Tensor x = randn({5, 3, 2}, DType::Float64, &gen);
    const Expected e = expected_update(x, mean, var, 0.1);
    batch_norm(x, running_mean, running_var, Tensor(), Tensor(), true);
    mean = e.mean;
    var = e.var;
  }
  expect_near(running_mean.to_vector<double>(), mean, 1e-12, "running_mean");
  expect_near(running_var.to_vector<double>(), var, 1e-12, "running_var");
}

TEST(BatchNormRunningStats, EvalLeavesThemAlone) {
  Generator gen(3);
  const Tensor x = randn({4, 3, 2}, DType::Float64, &gen);
  const Tensor running_mean = randn({3}, DType::Float64, &gen), running_var = ones({3}, DType::Float64);
  const std::vector<double> before = running_mean.to_vector<double>();
  const uint64_t version = running_mean.storage()->version();
  batch_norm(x, running_mean, running_var, Tensor(), Tensor(), /*training=*/false);
  EXPECT_EQ(running_mean.to_vector<double>(), before);
  EXPECT_EQ(running_mean.storage()->version(), version);
}

TEST(BatchNormRunningStats, UpdateIsNotRecordedButBumpsTheVersion) {
  Generator gen(5);
  const Tensor x = randn({4, 2}, DType::Float64, &gen).requires_grad_();
  const Tensor running_mean = zeros({2}, DType::Float64), running_var = ones({2}, DType::Float64);
  const uint64_t version = running_mean.storage()->version();
  const Tensor y = batch_norm(x, running_mean, running_var, Tensor(), Tensor(), true);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(running_mean.requires_grad());
  EXPECT_EQ(running_mean.grad_fn(), nullptr);
  EXPECT_GT(running_mean.storage()->version(), version);
  sum(mul(y, y)).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(running_mean.grad().defined());
}

TEST(BatchNormRunningStats, UntrackedTrainingNeedsNone) {
  Generator gen(9);
  const Tensor x = randn({4, 3}, DType::Float64, &gen);
  const std::vector<double> y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true).to_vector<double>();
  // Each channel of the output has mean 0.
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(y[c] + y[3 + c] + y[6 + c] + y[9 + c], 0.0, 1e-12);
}

TEST(BatchNormRunningStats, MisuseIsAClearError) {
  const Tensor x = ones({4, 3}, DType::Float64);
  const Tensor stats = zeros({3}, DType::Float64);
  expect_op_error(
      [&] {
        batch_norm(ones({1, 3}, DType::Float64), stats.clone(), ones({3}, DType::Float64), Tensor(), Tensor(), true);
      },
      "batch_norm", "more than one value per channel");
  expect_op_error([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }, "batch_norm", "evaluation mode needs");
  expect_op_error([&] { batch_norm(x, stats.clone(), Tensor(), Tensor(), Tensor(), true); },
                  "batch_norm", "both running_mean and running_var");
  expect_op_error([&] { batch_norm(x, zeros({4}, DType::Float64), ones({4}, DType::Float64), Tensor(), Tensor(), true); },
                  "batch_norm", "running_mean must have shape [3]");
  expect_op_error([&] { batch_norm(x, zeros({3}), ones({3}), Tensor(), Tensor(), true); },
                  "batch_norm", "running_mean must have the input's dtype");
  expect_op_error(
      [&] { batch_norm(x, stats.clone().requires_grad_(), ones({3}, DType::Float64), Tensor(), Tensor(), true); },
      "batch_norm", "requires grad");
  expect_op_error([&] { batch_norm(ones({4}, DType::Float64), stats, stats, Tensor(), Tensor(), true); }, "batch_norm", "[N, C]");
}

// Both buffers are checked before either is touched: a refused running_var leaves running_mean's values and
// version as they were, and so does passing one buffer as both.
TEST(BatchNormRunningStats, ARefusedUpdateTouchesNeitherBuffer) {
  const Tensor x = from_vector<double>({1, 2, 3, 5, 8, 13}, {3, 2});
  const Tensor running_mean = from_vector<double>({0.5, -0.5}, {2});
  const uint64_t version = running_mean.storage()->version();
  expect_op_error(
      [&] { batch_norm(x, running_mean, ones({2}, DType::Float64).requires_grad_(), Tensor(), Tensor(), true); },
      "batch_norm", "running_var", "requires grad");
  EXPECT_EQ(running_mean.storage()->version(), version);
  EXPECT_EQ(running_mean.to_vector<double>(), (std::vector<double>{0.5, -0.5}));

  const Tensor both = ones({2}, DType::Float64);
  const uint64_t both_version = both.storage()->version();
  expect_op_error([&] { batch_norm(x, both, both, Tensor(), Tensor(), true); }, "batch_norm", "running_mean",
                  "running_var", "share memory");
  EXPECT_EQ(both.storage()->version(), both_version);
  EXPECT_EQ(both.to_vector<double>(), (std::vector<double>{1.0, 1.0}));
}

TEST(BatchNormRunningStats, MatchFormulaOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  check_one_step({6, 3, 4, 5}, DType::Float64, DType::Float64, kCUDA, 0.3, 1e-12);
  check_one_step({9, 4}, DType::Float64, DType::Float64, kCUDA, 0.1, 1e-12);
  check_one_step({4, 3, 50}, DType::Float32, DType::Float32, kCUDA, 0.1, 1e-5);
  check_one_step({300, 2, 7, 7}, DType::Float32, DType::Float32, kCUDA, 0.1, 1e-5);  // chunked batch
  check_one_step({4000, 5}, DType::Float32, DType::Float32, kCUDA, 0.1, 1e-5);       // chunked columns
  check_one_step({8, 3, 2, 2}, DType::BFloat16, DType::Float32, kCUDA, 0.2, 1e-5);
}

}  // namespace
}  // namespace trifecta
