// Convolution and pooling beyond the op specs: the errors the front ends raise, the CPU batch split (the
// specs' small cases run on one thread), max pooling over a window with no real pixel, and on a GPU the
// cuDNN path against the hand-written one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "autograd/ops.h"
#include "kernels/common/parallel.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_error;

TEST(Conv2dErrors, NameTheProblem) {
  const Tensor x = zeros({2, 3, 8, 8}), w = zeros({4, 3, 3, 3});
  expect_error([&] { conv2d(zeros({3, 8, 8}), w); }, {"conv2d", "4-D"});
  expect_error([&] { conv2d(x, zeros({4, 3, 3})); }, {"conv2d", "weight must be 4-D"});
  expect_error([&] { conv2d(x, zeros({})); }, {"conv2d", "weight must be 4-D"});
  expect_error([&] { conv2d(x, zeros({4, 2, 3, 3})); }, {"conv2d", "3 channels"});
  expect_error([&] { conv2d(x, w, zeros({5})); }, {"conv2d", "bias must have shape [4]"});
  expect_error([&] { conv2d(x, w, Tensor(), 0); }, {"conv2d", "stride must be positive"});
  expect_error([&] { conv2d(x, w, Tensor(), 1, -1); }, {"conv2d", "padding must be non-negative"});
  expect_error([&] { conv2d(x, w, Tensor(), 1, 0, {1, 0}); }, {"conv2d", "dilation must be positive"});
  expect_error([&] { conv2d(x, zeros({4, 3, 9, 3})); }, {"conv2d", "larger than the padded input"});
  expect_error([&] { conv2d(x, w, Tensor(), 1, 0, 4); }, {"conv2d", "output would be empty"});
  expect_error([&] { conv2d(x, zeros({4, 3, 3, 3}, DType::Float64)); }, {"conv2d", "differ in dtype"});
  expect_error([&] { conv2d(zeros({2, 3, 8, 8}, DType::Int64), zeros({4, 3, 3, 3}, DType::Int64)); },
               {"conv2d", "floating"});
}

TEST(ConvTranspose2dErrors, NameTheProblem) {
  const Tensor x = zeros({2, 3, 4, 4}), w = zeros({3, 5, 3, 3});
  expect_error([&] { conv_transpose2d(x, zeros({4, 5, 3, 3})); }, {"conv_transpose2d", "3 channels"});
  expect_error([&] { conv_transpose2d(x, w, zeros({3})); }, {"conv_transpose2d", "bias must have shape [5]"});
  expect_error([&] { conv_transpose2d(x, w, Tensor(), 2, 0, 2); }, {"conv_transpose2d", "output_padding"});
  expect_error([&] { conv_transpose2d(zeros({1, 3, 1, 1}), zeros({3, 5, 1, 1}), Tensor(), 1, 1); },
               {"conv_transpose2d", "empty output"});
  EXPECT_EQ(conv_transpose2d(x, w, Tensor(), 2, 1, 1).shape(), Shape({2, 5, 8, 8}));
}

TEST(PoolErrors, NameTheProblem) {
  const Tensor x = zeros({2, 3, 8, 8});
  expect_error([&] { max_pool2d(zeros({8, 8}), 2); }, {"max_pool2d", "4-D"});
  expect_error([&] { max_pool2d(x, 0); }, {"max_pool2d", "kernel_size must be positive"});
  expect_error([&] { max_pool2d(x, 3, 1, 2); }, {"max_pool2d", "at most half the kernel"});
  expect_error([&] { max_pool2d(x, 3, 1, 0, 4); }, {"max_pool2d", "output would be empty"});
  expect_error([&] { avg_pool2d(x, 2, -1); }, {"avg_pool2d", "stride must be positive"});
  expect_error([&] { avg_pool2d(zeros({1, 1, 2, 2}), 3); }, {"avg_pool2d", "output would be empty"});
  EXPECT_EQ(max_pool2d(x, 2).shape(), Shape({2, 3, 4, 4}));  // stride defaults to the kernel size
  EXPECT_EQ(avg_pool2d(x, {3, 2}, {1, 2}, {1, 0}).shape(), Shape({2, 3, 8, 4}));
}

// conv2d in float64 by the definition.
std::vector<double> direct_conv2d(const Tensor& x, const Tensor& w, int64_t stride, int64_t pad) {
  const std::vector<double> xv = x.to_vector<double>(), wv = w.to_vector<double>();
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0), K = w.size(2);
  const int64_t OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
  std::vector<double> y(static_cast<size_t>(N * O * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t p = 0; p < K; ++p)
              for (int64_t q = 0; q < K; ++q) {
                const int64_t h = i * stride - pad + p, v = j * stride - pad + q;
                if (h >= 0 && h < H && v >= 0 && v < W)
                  acc += xv[static_cast<size_t>(((n * C + c) * H + h) * W + v)] * wv[static_cast<size_t>(((o * C + c) * K + p) * K + q)];
              }
          y[static_cast<size_t>(((n * O + o) * OH + i) * OW + j)] = acc;
        }
  return y;
}

void expect_near_all(const std::vector<double>& a, const std::vector<double>& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1.0 + std::fabs(b[i]))) << "at " << i;
}

struct ConvResult {
  std::vector<double> y, grad_x, grad_w, grad_b;
};

ConvResult run_conv(const Tensor& x0, const Tensor& w0, const Tensor& b0, int64_t stride, int64_t pad) {
  const Tensor x = x0.detach().requires_grad_(), w = w0.detach().requires_grad_(), b = b0.detach().requires_grad_();
  const Tensor y = conv2d(x, w, b, stride, pad);
  sum(mul(y, y)).backward();
  return {y.to_vector<double>(), x.grad().to_vector<double>(), w.grad().to_vector<double>(), b.grad().to_vector<double>()};
}

// Big enough for the batch to split across threads: the split must not change the results.
TEST(Conv2dCpu, BatchSplitMatchesOneThread) {
  const int threads = get_num_threads();
  for (const auto& [kernel, stride, pad] : {std::tuple{3, 2, 1}, std::tuple{1, 1, 0}}) {
    SCOPED_TRACE("kernel " + std::to_string(kernel));
    Generator gen(7);
    const Tensor x = randn({6, 16, 20, 20}, DType::Float64, &gen), w = randn({32, 16, kernel, kernel}, DType::Float64, &gen);
    const Tensor b = randn({32}, DType::Float64, &gen);
    set_num_threads(std::max(2, threads));
    const ConvResult split = run_conv(x, w, b, stride, pad);
    set_num_threads(1);
    const ConvResult serial = run_conv(x, w, b, stride, pad);
    set_num_threads(threads);
    std::vector<double> expected = direct_conv2d(x, w, stride, pad);
    const int64_t pixels = static_cast<int64_t>(expected.size()) / (6 * 32);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += b.to_vector<double>()[(i / pixels) % 32];
    expect_near_all(split.y, expected, 1e-12);
    expect_near_all(split.y, serial.y, 1e-12);
    expect_near_all(split.grad_x, serial.grad_x, 1e-12);
    expect_near_all(split.grad_w, serial.grad_w, 1e-12);
    expect_near_all(split.grad_b, serial.grad_b, 1e-12);
  }
}

// float32 runs the implicit GEMM (conv_cpu.cpp) on maps this wide: split across threads it must give the
// single thread's results exactly, and the definition's to float32 rounding.
TEST(Conv2dCpu, ImplicitGemmBatchSplitMatchesOneThread) {
  const int threads = get_num_threads();
  Generator gen(11);
  const Tensor x = randn({6, 32, 4, 48}, DType::Float32, &gen), w = randn({16, 32, 3, 3}, DType::Float32, &gen);
  const Tensor b = randn({16}, DType::Float32, &gen);
  set_num_threads(std::max(2, threads));
  const std::vector<double> split = conv2d(x, w, b, 1, 1).to_vector<double>();
  set_num_threads(1);
  const std::vector<double> serial = conv2d(x, w, b, 1, 1).to_vector<double>();
  set_num_threads(threads);
  std::vector<double> expected = direct_conv2d(x, w, 1, 1);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += b.to_vector<double>()[(i / (4 * 48)) % 16];
  expect_near_all(split, serial, 0.0);
  expect_near_all(split, expected, 1e-4);
}

// Dilation can leave a window entirely in the padding: its maximum is -inf and it sends no gradient.
TEST(MaxPool2d, WindowWithoutRealPixels) {
  const Tensor x = from_vector<double>({1.0, 2.0, 3.0}, {1, 1, 1, 3}).requires_grad_();
  const auto [y, indices] = max_pool2d_with_indices(x, {2, 1}, 1, {1, 0}, {2, 1});
  ASSERT_EQ(y.shape(), Shape({1, 1, 1, 3}));
  for (double v : y.to_vector<double>()) EXPECT_EQ(v, -std::numeric_limits<double>::infinity());
  for (int64_t i : indices.to_vector<int64_t>()) EXPECT_EQ(i, -1);
  sum(mul(y, zeros_like(y).detach())).backward();
  for (double g : x.grad().to_vector<double>()) EXPECT_EQ(g, 0.0);
}

// On a GPU: cuDNN (when compiled in) and the hand-written kernels agree, forward and backward.
TEST(Conv2dCuda, CudnnMatchesHandWritten) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  Generator gen(11);
  const Tensor x = randn({5, 6, 13, 11}, DType::Float64, &gen), w = randn({7, 6, 3, 2}, DType::Float64, &gen);
  const Tensor b = randn({7}, DType::Float64, &gen), wt = randn({6, 3, 3, 3}, DType::Float64, &gen);
  struct Outputs {
    std::vector<double> y, grad_x, grad_w, transposed;
  };
  const auto run = [&](const char* setting) {
    setenv("TRIFECTA_CUDNN", setting, 1);
    const Tensor xc = x.to(kCUDA).requires_grad_(), wc = w.to(kCUDA).requires_grad_(), bc = b.to(kCUDA).requires_grad_();
    const Tensor y = conv2d(xc, wc, bc, {2, 1}, {1, 2}, {1, 2});
    sum(mul(y, y)).backward();
    const Tensor t = conv_transpose2d(xc.detach(), wt.to(kCUDA), Tensor(), 2, 1, 1);
    return Outputs{y.to_vector<double>(), xc.grad().to_vector<double>(), wc.grad().to_vector<double>(),
                   t.to_vector<double>()};
  };
  const Outputs cudnn = run("1");
  const Outputs hand_written = run("0");
  unsetenv("TRIFECTA_CUDNN");
  expect_near_all(cudnn.y, hand_written.y, 1e-11);
  expect_near_all(cudnn.grad_x, hand_written.grad_x, 1e-11);
  expect_near_all(cudnn.grad_w, hand_written.grad_w, 1e-11);
  expect_near_all(cudnn.transposed, hand_written.transposed, 1e-11);
}

}  // namespace
}  // namespace trifecta
