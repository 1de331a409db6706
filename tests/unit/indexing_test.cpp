// Unit tests of the indexing, topk and dropout ops beyond what the op specs check: the error paths (bad
// index values on every device, mismatched joins, bad k and p), embedding's padding_idx, topk's NaN, tie
// and long-row behaviour, dropout's mask (regenerated in backward, shared with bernoulli, equal across
// devices), and the determinism of the accumulating kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_error;

std::vector<Device> devices() {
  std::vector<Device> all = {kCPU};
  if (cuda_available()) all.push_back(kCUDA);
  return all;
}

// Runs f and expects an Error whose message contains every one of parts.
Tensor index_tensor(const std::vector<int64_t>& values, Device device, Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return from_vector(values, shape).to(device);
}

TEST(IndexErrors, OutOfRangeValuesNameTheOpAndTheValue) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor x = randn({4, 3}).to(device);
    const Tensor too_big = index_tensor({0, 4, 1}, device), negative = index_tensor({2, -1}, device);
    expect_error([&] { index_select(x, 0, too_big); }, {"index_select", "index 4 is out of range", "size 4"});
    expect_error([&] { index_select(x, 0, negative); }, {"index_select", "index -1 is out of range"});
    expect_error([&] { index_add(x, 0, too_big, randn({3, 3}).to(device)); }, {"index_add", "index 4"});
    expect_error([&] { index_add(x, 0, negative, randn({2, 3}).to(device)); }, {"index_add", "index -1"});
    const Tensor bad_2d = index_tensor({0, 1, 3, 2}, device, {2, 2});
    expect_error([&] { gather(x, 1, bad_2d); }, {"gather", "index 3 is out of range for dimension 1 of size 3"});
    expect_error([&] { scatter_add(x, 1, bad_2d, randn({2, 2}).to(device)); }, {"scatter_add", "index 3"});
    expect_error([&] { embedding(x, index_tensor({1, 7}, device)); }, {"embedding", "index 7 is out of range"});
  }
}

TEST(IndexErrors, IndexTensorsAndShapesAreChecked) {
  const Tensor x = randn({4, 3});
  expect_error([&] { index_select(x, 0, from_vector(std::vector<int32_t>{0, 1}, {2})); }, {"index_select", "int64"});
  expect_error([&] { index_select(x, 0, index_tensor({0, 1, 2, 3}, kCPU, {2, 2})); }, {"index_select", "1-D"});
  expect_error([&] { index_select(x, 2, index_tensor({0}, kCPU)); }, {"index_select"});
  expect_error([&] { index_add(x, 0, index_tensor({0, 1}, kCPU), randn({3, 3})); }, {"index_add", "source must have shape [2, 3]"});
  expect_error([&] { index_add(x, 0, index_tensor({0}, kCPU), randn({1, 3}, DType::Float64)); }, {"index_add", "float64"});
  expect_error([&] { gather(x, 0, index_tensor({0, 1}, kCPU)); }, {"gather", "rank"});
  expect_error([&] { gather(x, 0, index_tensor({0, 0, 0, 0}, kCPU, {1, 4})); }, {"gather", "exceeds"});
  expect_error([&] { scatter_add(x, 0, index_tensor({0, 0}, kCPU, {1, 2}), randn({1, 1})); }, {"scatter_add", "src"});
  expect_error([&] { embedding(randn({4}), index_tensor({0}, kCPU)); }, {"embedding", "weight"});
  expect_error([&] { embedding(x, index_tensor({0}, kCPU), 4); }, {"embedding", "padding_idx 4"});
}

TEST(JoinErrors, ConcatStackAndSplitExplainMismatches) {
  const Tensor a = randn({2, 3}), b = randn({2, 4});
  expect_error([&] { concat({a, b}, 0); }, {"concat", "tensor 1 has shape [2, 4]", "tensor 0 has shape [2, 3]"});
  expect_error([&] { concat({a, randn({2, 3}, DType::Float64)}, 0); }, {"concat", "float64"});
  expect_error([&] { concat({a, randn({2, 3, 1})}, 0); }, {"concat", "shape"});
  expect_error([&] { concat({}, 0); }, {"concat", "at least one"});
  expect_error([&] { concat({a, b}, 2); }, {"concat"});
  expect_error([&] { stack({a, b}, 0); }, {"stack", "tensor 1 has shape [2, 4]"});
  expect_error([&] { split(a, std::vector<int64_t>{1, 1}, 1); }, {"split", "sum to 2", "size 3"});
  expect_error([&] { split(a, 0, 1); }, {"split", "positive"});
  // Sizes that agree join fine, also along the last dim.
  EXPECT_EQ(concat({a, b}, -1).shape(), (Shape{2, 7}));
}

TEST(TopkErrors, KAndDtypeAreChecked) {
  const Tensor x = randn({3, 5});
  expect_error([&] { topk(x, 6); }, {"topk", "k = 6"});
  expect_error([&] { topk(x, -1); }, {"topk", "k = -1"});
  expect_error([&] { topk(x, 1, 2); }, {"topk"});
  expect_error([&] { topk(lt(x, 0.0), 1); }, {"topk", "bool"});
  EXPECT_EQ(topk(x, 0).values.shape(), (Shape{3, 0}));
}

TEST(DropoutErrors, PMustLieInTheUnitInterval) {
  const Tensor x = randn({4});
  for (double p : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    expect_error([&] { dropout(x, p); }, {"dropout", "p must lie in [0, 1]"});
    expect_error([&] { dropout(x, p, /*training=*/false); }, {"dropout", "p must lie in [0, 1]"});
  }
  expect_error([&] { dropout(from_vector(std::vector<int64_t>{1, 2}, {2}), 0.5); }, {"dropout", "floating"});
}

TEST(Embedding, PaddingRowGetsNoGradient) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    Tensor weight = randn({5, 3}, DType::Float64).to(device);
    weight.requires_grad_();
    const Tensor indices = index_tensor({1, 2, 1, 4, 2, 2}, device, {2, 3});
    const Tensor out = embedding(weight, indices, -3);  // row 2
    EXPECT_EQ(out.shape(), (Shape{2, 3, 3}));
    // The padding row is still looked up.
    EXPECT_EQ(out.select(0, 0).select(0, 1).to_vector<double>(), weight.detach().select(0, 2).to_vector<double>());
    sum(out).backward();
    const std::vector<double> grad = weight.grad().to_vector<double>();
    const double expected_count[] = {0, 2, 0, 0, 1};  // how often each row is used, padding row zeroed
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(grad[r * 3 + c], expected_count[r]) << "row " << r;
  }
}

TEST(Topk, NaNIsLargestAndTiesGoToTheSmallerIndex) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    for (DType dtype : {DType::Float32, DType::Float64, DType::BFloat16}) {
      const Tensor x = from_vector(std::vector<double>{1, nan, 3, nan, 2, 3, -0.0, 0.0}, {8}, {dtype}).to(device);
      const TopkResult top = topk(x, 4);
      EXPECT_EQ(top.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 2, 5}));
      const std::vector<double> values = top.values.to_vector<double>();
      EXPECT_TRUE(std::isnan(values[0]) && std::isnan(values[1]));
      EXPECT_EQ(values[2], 3.0);
      const TopkResult bottom = topk(x, 8, 0, /*largest=*/false);
      // -0 and +0 are equal: index order decides.
      EXPECT_EQ(bottom.indices.to_vector<int64_t>(), (std::vector<int64_t>{6, 7, 0, 4, 2, 5, 1, 3}));
    }
    const Tensor ints = from_vector(std::vector<int32_t>{5, -7, 5, 0, -7}, {5}).to(device);
    EXPECT_EQ(topk(ints, 3).indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 2, 3}));
    EXPECT_EQ(topk(ints, 2, 0, false).values.to_vector<int64_t>(), (std::vector<int64_t>{-7, -7}));
  }
}

// Rows longer than the CUDA kernel's shared-memory sort (4096) take the radix-sort path there; both
// paths must agree with the CPU on values and indices, ties and NaN included.
TEST(Topk, LongRowsAgreeWithAPlainSort) {
  Generator generator(7);
  // Few distinct values: every row is full of ties.
  Tensor x = mul(rand({3, 5000}, DType::Float32, &generator), 20.0).to(DType::Int64).to(DType::Float32);
  std::vector<float> values = x.to_vector<float>();
  values[17] = std::numeric_limits<float>::quiet_NaN();
  x = from_vector(values, {3, 5000});
  const TopkResult cpu = topk(x, 50, 1);
  // Reference for row 0: NaN first, then 19s in index order, ...
  std::vector<int64_t> expected = {17};
  for (int v = 19; v >= 0 && expected.size() < 50; --v)
    for (int64_t i = 0; i < 5000 && expected.size() < 50; ++i)
      if (i != 17 && values[i] == static_cast<float>(v)) expected.push_back(i);
  EXPECT_EQ(cpu.indices.select(0, 0).to_vector<int64_t>(), expected);
  if (cuda_available()) {
    for (int64_t length : {5000, 4096, 1000, 33}) {
      const Tensor part = x.narrow(1, 0, length);
      for (bool largest : {true, false}) {
        const TopkResult on_cpu = topk(part, 20, 1, largest), on_gpu = topk(part.to(kCUDA), 20, 1, largest);
        EXPECT_EQ(on_gpu.indices.to(kCPU).to_vector<int64_t>(), on_cpu.indices.to_vector<int64_t>()) << length;
        const Tensor transposed = part.t().contiguous().t();  // dim 1 now has a large stride
        EXPECT_EQ(topk(transposed.to(kCUDA), 20, 1, largest).indices.to(kCPU).to_vector<int64_t>(),
                  on_cpu.indices.to_vector<int64_t>());
      }
    }
  }
}

TEST(Dropout, BackwardRegeneratesTheForwardMask) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    Generator generator(3);
    Tensor x = add(rand({64, 33}, DType::Float64, &generator), 1.0).to(device);  // nonzero everywhere
    x.requires_grad_();
    const double p = 0.25;
    const Tensor y = dropout(x, p, true, &generator);
    y.backward(ones_like(y));
    const std::vector<double> xs = x.detach().to_vector<double>(), ys = y.detach().to_vector<double>(),
                              gs = x.grad().to_vector<double>();
    int64_t kept = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const bool keep = ys[i] != 0.0;
      kept += keep;
      EXPECT_DOUBLE_EQ(ys[i], keep ? xs[i] / (1 - p) : 0.0);
      EXPECT_DOUBLE_EQ(gs[i], keep ? 1 / (1 - p) : 0.0);
    }
    // 2112 Bernoulli(0.75) draws: the kept fraction lies within 5 standard deviations (0.047) of 0.75.
    EXPECT_NEAR(static_cast<double>(kept) / xs.size(), 0.75, 0.05);
  }
}

TEST(Dropout, MaskMatchesBernoulliFromTheSameState) {
  Generator a(99), b(99);
  const Tensor x = ones({10, 10}, DType::Float64);
  const Tensor y = dropout(x, 0.25, true, &a);
  const Tensor mask = bernoulli({10, 10}, 0.75, DType::Float64, &b);  // 1 - 0.25, exactly
  EXPECT_EQ(ne(y, 0.0).to(DType::Float64).to_vector<double>(), mask.to_vector<double>());
  EXPECT_EQ(a.state().offset, b.state().offset);
}

TEST(Dropout, IdentityAndZeroCases) {
  const Tensor x = randn({3, 4});
  EXPECT_TRUE(dropout(x, 0.5, /*training=*/false).same(x));
  EXPECT_TRUE(dropout(x, 0.0).same(x));
  for (double v : dropout(x, 1.0).to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(Dropout, CudaMaskEqualsCpuMask) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  const Tensor x = randn({37, 41});
  Generator a(5), b(5);
  EXPECT_EQ(dropout(x.to(kCUDA), 0.3, true, &a).to(kCPU).to_vector<float>(), dropout(x, 0.3, true, &b).to_vector<float>());
}

// index_add is embedding's backward: thousands of rows may land on one destination, and the sum must not
// depend on scheduling. Both devices sum in ascending position order, so they agree bit for bit.
TEST(IndexAdd, DeterministicAndEqualAcrossDevices) {
  Generator generator(11);
  const Tensor index = uniform({3000}, 0.0, 7.0, DType::Float64, &generator).to(DType::Int64);
  const Tensor source = randn({3000, 65}, DType::Float32, &generator);
  const Tensor x = randn({7, 65}, DType::Float32, &generator);
  const std::vector<float> cpu = index_add(x, 0, index, source).to_vector<float>();
  EXPECT_EQ(index_add(x, 0, index, source).to_vector<float>(), cpu);
  if (cuda_available()) {
    const Tensor xg = x.to(kCUDA), ig = index.to(kCUDA), sg = source.to(kCUDA);
    const std::vector<float> first = index_add(xg, 0, ig, sg).to(kCPU).to_vector<float>();
    EXPECT_EQ(index_add(xg, 0, ig, sg).to(kCPU).to_vector<float>(), first);
    EXPECT_EQ(first, cpu);
    // scatter_add walks each line in order on one thread: likewise equal.
    const Tensor gather_index = uniform({7, 500}, 0.0, 65.0, DType::Float64, &generator).to(DType::Int64);
    const Tensor src = randn({7, 500}, DType::Float32, &generator);
    EXPECT_EQ(scatter_add(xg, 1, gather_index.to(kCUDA), src.to(kCUDA)).to(kCPU).to_vector<float>(),
              scatter_add(x, 1, gather_index, src).to_vector<float>());
  }
}

TEST(IndexAdd, EmptyIndexLeavesTheInput) {
  for (Device device : devices()) {
    const Tensor x = randn({3, 2}).to(device);
    const Tensor none = index_tensor({}, device, {0});
    EXPECT_EQ(index_add(x, 0, none, randn({0, 2}).to(device)).to_vector<float>(), x.to_vector<float>());
    EXPECT_EQ(index_select(x, 0, none).shape(), (Shape{0, 2}));
  }
}

TEST(Split, PiecesAreViewsOfTheInput) {
  const Tensor x = randn({2, 7});
  const std::vector<Tensor> pieces = split(x, 3, 1);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].shape(), (Shape{2, 1}));
  EXPECT_EQ(pieces[1].raw_data(), static_cast<const float*>(x.raw_data()) + 3);
}

}  // namespace
}  // namespace trifecta
