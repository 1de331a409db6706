// matmul beyond the op spec: the errors it raises, empty products, and sizes large enough to take BLAS's
// threaded paths (the spec keeps to gradcheck-sized operands).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/matmul/matmul.h"
#include "tests/harness/gradcheck.h"
#include "tests/harness/expect_error.h"

namespace trifecta::testing {
namespace {

using testing::expect_op_error;

TEST(Matmul, RejectsMismatchedInnerDimensions) {
  expect_op_error([] { matmul(randn({2, 3}), randn({4, 5})); }, "matmul", "inner dimensions disagree");
  expect_op_error([] { matmul(randn({3}), randn({4})); }, "matmul", "inner dimensions disagree");
}

TEST(Matmul, RejectsMismatchedDtypesDevicesAndRanks) {
  expect_op_error([] { matmul(randn({2, 3}), randn({3, 2}, DType::Float64)); }, "matmul", "different dtypes");
  expect_op_error([] { matmul(ones({2, 3}, DType::Int64), ones({3, 2}, DType::Int64)); }, "matmul", "floating");
  expect_op_error([] { matmul(scalar_tensor(2.0), randn({3})); }, "matmul", "at least 1 dimension");
  expect_op_error([] { matmul(randn({2, 3, 4}), randn({3, 4, 5})); }, "matmul", "do not broadcast");
  if (cuda_available()) expect_op_error([] { matmul(randn({2, 3}), randn({3, 2}, kCUDA)); }, "matmul", "different devices");
}

TEST(Matmul, KernelRejectsIntegerDtypes) {
  const Tensor a = ones({1, 2, 3}, DType::Int32), b = ones({1, 3, 2}, DType::Int32), out = empty({1, 2, 2}, DType::Int32);
  expect_op_error([&] { kernel_for<MatmulKernel>(OpId::matmul, kCPU)(a, b, out); }, "matmul", "int32");
}

TEST(Matmul, EmptyInnerDimensionGivesZeros) {
  const Tensor a = randn({3, 0}).requires_grad_(), b = randn({0, 2}).requires_grad_();
  const Tensor c = matmul(a, b);
  EXPECT_EQ(c.shape(), (Shape{3, 2}));
  EXPECT_TRUE(tensors_close(c, zeros({3, 2}), {0.0, 0.0}, "empty inner product"));
  sum(c).backward();
  EXPECT_EQ(a.grad().shape(), a.shape());
  EXPECT_EQ(b.grad().shape(), b.shape());
}

TEST(Matmul, EmptyBatchAndEmptyRows) {
  EXPECT_EQ(matmul(randn({0, 3, 4}), randn({4, 2})).shape(), (Shape{0, 3, 2}));
  EXPECT_EQ(matmul(randn({2, 0, 4}), randn({2, 4, 5})).shape(), (Shape{2, 0, 5}));
  EXPECT_EQ(matmul(randn({4}), randn({4, 0})).shape(), (Shape{0}));
}

// Float32 on BLAS against the float64 product: sizes past OpenBLAS's threading threshold, a batch of small
// matrices (split across threads), transposed operands, and a broadcast that needs the outer batch loop.
TEST(Matmul, LargeFloat32MatchesFloat64) {
  struct Case {
    Tensor a, b;
  };
  const Tensor big = randn({130, 90}, DType::Float64);
  const std::vector<Case> cases = {
      {big, randn({90, 70}, DType::Float64)},
      {big.t(), randn({70, 130}, DType::Float64).t()},
      {randn({16, 9, 5}, DType::Float64), randn({16, 5, 7}, DType::Float64)},
      {randn({3, 1, 33, 20}, DType::Float64), randn({4, 20, 17}, DType::Float64).transpose(-1, -2).contiguous().transpose(-1, -2)},
      {randn({6, 40, 30}, DType::Float64), randn({30, 20}, DType::Float64)},
  };
  for (const Case& c : cases) {
    const Tensor expected = matmul(c.a, c.b);
    const Tensor actual = matmul(c.a.to(DType::Float32), c.b.to(DType::Float32));
    EXPECT_TRUE(tensors_close(actual, expected.to(DType::Float32), {1e-4, 1e-4}, c.a.shape().str() + " · " + c.b.shape().str()));
  }
}

TEST(Matmul, LargeProductOnCudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dtype : {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16}) {
    const Tensor a = randn({3, 1, 65, 130}, dtype), b = randn({4, 130, 33}, dtype).transpose(-1, -2).contiguous().transpose(-1, -2);
    const Tensor cpu = matmul(a, b), gpu = matmul(a.to(kCUDA), b.to(kCUDA)).to(kCPU);
    EXPECT_TRUE(tensors_close(gpu, cpu, cross_device_tolerance(dtype).scaled(5.0), dtype_name(dtype)));
  }
}

// A 16-bit product accumulates in float32 and rounds once, on every device. Long K with positive terms (no
// cancellation, so an output's error is its rounding): each output lies within half a unit in the last place
// of the float64 product of the same 16-bit inputs, plus float32 accumulation slack. cuBLAS, left to its
// defaults, may split K and add the partial sums in the 16-bit type, rounding each (kernels/matmul/matmul_cuda.cpp).
TEST(Matmul, SixteenBitProductsRoundOnce) {
  std::vector<Device> devices = {kCPU};
  if (cuda_available()) devices.push_back(kCUDA);
  Generator g(17);
  for (DType dtype : {DType::BFloat16, DType::Float16}) {
    SCOPED_TRACE(dtype_name(dtype));
    const Tensor a = rand({16, 65536}, dtype, &g), b = rand({65536, 16}, dtype, &g);
    const std::vector<double> expected = matmul(a.to(DType::Float64), b.to(DType::Float64)).to_vector<double>();
    const double unit = dtype == DType::BFloat16 ? 0x1p-7 : 0x1p-10;  // the spacing of [1, 2): 8 or 11 bits
    for (Device device : devices) {
      SCOPED_TRACE(device.str());
      const std::vector<double> actual = matmul(a.to(device), b.to(device)).to(kCPU).to_vector<double>();
      ASSERT_EQ(actual.size(), expected.size());
      for (size_t i = 0; i < actual.size(); ++i) {
        const double half_ulp = 0.5 * unit * std::exp2(std::floor(std::log2(expected[i])));
        ASSERT_LE(std::fabs(actual[i] - expected[i]), half_ulp + 1e-5 * expected[i])
            << "output " << i << ": " << actual[i] << " against " << expected[i];
      }
    }
  }
}

}  // namespace
}  // namespace trifecta::testing
