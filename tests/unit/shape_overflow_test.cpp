// Sizes that overflow 64 bits are Errors, not wrapped numbers: before, empty({2^32, 2^32}) wrapped to 0
// elements and returned a tensor claiming 2^64 of them over an empty storage.
#include <gtest/gtest.h>

#include "tensor/tensor.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_op_error;

constexpr int64_t k2to32 = int64_t{1} << 32;

TEST(ShapeOverflow, ElementCountsBeyondInt64AreErrors) {
  expect_op_error([] { (void)Shape({k2to32, k2to32}).numel(); }, "shape", "[4294967296, 4294967296]", "too large");
  expect_op_error([] { (void)Shape({k2to32, k2to32, 1}).numel("weights.bin"); }, "weights.bin", "too large");
  expect_op_error([] { empty({k2to32, k2to32, 1}); }, "empty", "too large");
  // Empty, but its contiguous strides would be 2^80: refused too.
  expect_op_error([] { empty({0, int64_t{1} << 40, int64_t{1} << 40}); }, "empty", "too large");
  EXPECT_EQ(Shape({int64_t{1} << 31, int64_t{1} << 31}).numel(), int64_t{1} << 62);
  EXPECT_EQ(Shape({0, int64_t{1} << 40, 4}).numel(), 0);
}

TEST(ShapeOverflow, ByteSizesBeyondInt64AreErrors) {
  // 2^61 float64 elements count fine but take 2^64 bytes, which wrapped to an allocation of 0.
  expect_op_error([] { empty({int64_t{1} << 61}, DType::Float64); }, "empty", "float64", "too large");
  expect_op_error([] { dense_nbytes({int64_t{1} << 62}, DType::Float32, "header"); }, "header", "too large");
  expect_op_error([] { dense_nbytes({3, -2}, DType::Float32, "header"); }, "header", "negative dimension");
  EXPECT_EQ(dense_nbytes({int64_t{1} << 59}, DType::Float64, "t"), size_t{1} << 62);
  EXPECT_EQ(dense_nbytes({}, DType::BFloat16, "t"), 2u);
}

}  // namespace
}  // namespace trifecta
