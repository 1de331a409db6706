// The reductions' answers where PyTorch fixes a rule the op specs' float references do not reach: result
// dtypes (int32 and bool sums are int64, bool amax/amin stay bool, integer logsumexp computes in float32,
// mean/var/std/argmax refuse what PyTorch refuses), the gradients at non-finite values (logsumexp at
// infinities, amax and max(dim) at NaN), std's gradient where the spread is zero, var with a correction
// of at least n, and the empty cases of max(dim). Every expected value is what PyTorch 1.13 returns for
// the same call. Each check runs on the CPU and, when a GPU is present, on CUDA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_op_error;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<Device> devices() {
  std::vector<Device> d = {kCPU};
  if (cuda_available()) d.push_back(kCUDA);
  return d;
}

// Elementwise agreement where NaN must meet NaN and an infinity the same infinity.
void expect_same(const std::vector<double>& actual, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << "[" << i << "] is " << actual[i] << ", expected NaN";
    } else if (std::isinf(expected[i])) {
      EXPECT_EQ(actual[i], expected[i]) << what << "[" << i << "]";
    } else {
      EXPECT_NEAR(actual[i], expected[i], 1e-6 * std::max(1.0, std::fabs(expected[i]))) << what << "[" << i << "]";
    }
  }
}

TEST(ReduceDTypes, Int32AndBoolSumToInt64) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    // 2^31 - 1 twice overflows int32, not int64.
    const Tensor ints = from_vector(std::vector<int32_t>{2147483647, 2147483647, 5, -3, 0, 1}, {2, 3}).to(device);
    EXPECT_EQ(sum(ints).dtype(), DType::Int64);
    EXPECT_EQ(sum(ints).item<int64_t>(), 4294967297);
    EXPECT_EQ(sum(ints, {1}).to_vector<int64_t>(), (std::vector<int64_t>{4294967299, -2}));
    EXPECT_EQ(sum(ints, {0}, true).shape(), (Shape{1, 3}));
    const Tensor flags = from_vector(std::vector<int64_t>{1, 0, 1, 1, 1, 1}, {2, 3}).to(DType::Bool).to(device);
    EXPECT_EQ(sum(flags).dtype(), DType::Int64);
    EXPECT_EQ(sum(flags, {1}).to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
    const Tensor longs = from_vector(std::vector<int64_t>{4, 5}, {2}).to(device);
    EXPECT_EQ(sum(longs).dtype(), DType::Int64);
    EXPECT_EQ(sum(longs).item<int64_t>(), 9);
  }
}

TEST(ReduceDTypes, AmaxAndAminKeepTheDtype) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor flags = from_vector(std::vector<int64_t>{1, 0, 0, 0, 1, 1}, {3, 2}).to(DType::Bool).to(device);
    EXPECT_EQ(amax(flags, {1}).dtype(), DType::Bool);
    EXPECT_EQ(amax(flags, {1}).to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1}));  // any
    EXPECT_EQ(amin(flags, {1}).to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));  // all
    const Tensor ints = from_vector(std::vector<int32_t>{-7, 3, 9, 2}, {2, 2}).to(device);
    EXPECT_EQ(amax(ints).dtype(), DType::Int32);
    EXPECT_EQ(amax(ints, {0}).to_vector<int32_t>(), (std::vector<int32_t>{9, 3}));
    const ValuesAndIndices m = max(flags, 1);
    EXPECT_EQ(m.values.dtype(), DType::Bool);
    EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
  }
}

TEST(ReduceDTypes, LogsumexpOfIntegersComputesInFloat32) {
  const Tensor ints = from_vector(std::vector<int64_t>{1, 2}, {2});
  const Tensor y = logsumexp(ints, {0});
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_NEAR(y.item<double>(), 2.3132617473602295, 1e-6);
  const Tensor flags = from_vector(std::vector<int64_t>{1, 0}, {2}).to(DType::Bool);
  EXPECT_NEAR(logsumexp(flags, {0}).item<double>(), 1.3132616281509399, 1e-6);
}

TEST(ReduceDTypes, WhatPyTorchRefusesIsAnErrorNamingTheOp) {
  const Tensor ints = from_vector(std::vector<int64_t>{1, 2}, {2});
  const Tensor flags = ints.to(DType::Bool);
  expect_op_error([&] { mean(ints); }, "mean", "floating");
  expect_op_error([&] { var(ints); }, "var", "floating");
  expect_op_error([&] { trifecta::std(ints); }, "std", "floating");
  expect_op_error([&] { argmax(flags, 0); }, "argmax", "bool");
  expect_op_error([&] { argmin(flags); }, "argmin", "bool");
  expect_op_error([&] { max(zeros({3, 0}), 1); }, "max", "empty dim 1");
  expect_op_error([&] { amin(zeros({0, 2})); }, "amin", "empty dim 0");
}

TEST(ReduceNonfinite, LogsumexpAtInfinitiesAndNaN) {
  // Rows as PyTorch answers them: value, then the gradient (softmax, exp(x - lse)).
  struct Row {
    std::vector<double> x, value_and_grad;
  };
  const std::vector<Row> rows = {{{kInf, 1.0}, {kInf, kNaN, 0.0}},     {{-kInf, -kInf}, {-kInf, kNaN, kNaN}},
                                 {{kInf, kInf}, {kInf, kNaN, kNaN}},   {{kInf, -kInf}, {kInf, kNaN, 0.0}},
                                 {{kNaN, kInf}, {kNaN, kNaN, kNaN}},   {{-kInf, kNaN}, {kNaN, kNaN, kNaN}},
                                 {{-kInf, 1.0}, {1.0, 0.0, 1.0}}};
  for (Device device : devices()) {
    for (DType dtype : {DType::Float32, DType::Float64}) {
      SCOPED_TRACE(device.str() + " " + dtype_name(dtype));
      for (const Row& row : rows) {
        const Tensor x = from_vector(row.x, {2}, {DType::Float64}).to(dtype).to(device).requires_grad_();
        const Tensor y = logsumexp(x, {0});
        y.backward();
        std::vector<double> got = {y.item<double>()};
        for (double g : x.grad().to_vector<double>()) got.push_back(g);
        expect_same(got, row.value_and_grad, "logsumexp value, gradient");
      }
    }
  }
}

TEST(ReduceNonfinite, AmaxAndMaxAlongADimAtNaN) {
  const std::vector<double> values = {1.0, kNaN, 2.0, kNaN, 3.0, 1.0, 3.0, 0.0};
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    // amax: NaN wins, and its gradient (ties shared evenly; a NaN ties nothing) is NaN across the row.
    const Tensor x = from_vector(values, {2, 4}, {DType::Float64}).to(device).requires_grad_();
    const Tensor a = amax(x, {1});
    sum(a).backward();
    expect_same(a.to_vector<double>(), {kNaN, 3.0}, "amax");
    expect_same(x.grad().to_vector<double>(), {kNaN, kNaN, kNaN, kNaN, 0.5, 0.0, 0.5, 0.0}, "amax gradient");
    // max(x, dim): the first NaN is the maximum, and the gradient goes to it alone.
    const Tensor x2 = from_vector(values, {2, 4}, {DType::Float64}).to(device).requires_grad_();
    const ValuesAndIndices m = max(x2, 1);
    sum(m.values).backward();
    expect_same(m.values.to_vector<double>(), {kNaN, 3.0}, "max values");
    EXPECT_EQ(m.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));
    expect_same(x2.grad().to_vector<double>(), {0, 1, 0, 0, 1, 0, 0, 0}, "max gradient");
    const ValuesAndIndices n = min(x2.detach(), 1, /*keepdim=*/true);
    EXPECT_EQ(n.indices.shape(), (Shape{2, 1}));
    expect_same(n.values.to_vector<double>(), {kNaN, 0.0}, "min values");
    EXPECT_EQ(n.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 3}));
  }
}

TEST(ReduceGradients, StdIsFlatWhereTheSpreadIsZero) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor x = from_vector(std::vector<double>{5, 5, 5, 1, 2, 3}, {2, 3}).to(device).requires_grad_();
    const Tensor s = trifecta::std(x, {1});
    sum(s).backward();
    expect_same(s.to_vector<double>(), {0.0, 1.0}, "std");
    expect_same(x.grad().to_vector<double>(), {0, 0, 0, -0.5, 0, 0.5}, "std gradient");
    // One value and the unbiased estimate: 0 / 0, NaN as in PyTorch.
    EXPECT_TRUE(std::isnan(trifecta::std(from_vector(std::vector<double>{3.0}, {1}).to(device)).item<double>()));
  }
}

TEST(ReduceValues, VarWithACorrectionOfAtLeastNDividesByZero) {
  for (Device device : devices()) {
    SCOPED_TRACE(device.str());
    const Tensor spread = from_vector(std::vector<double>{1, 2}, {2}).to(device);
    const Tensor flat = from_vector(std::vector<double>{1, 1}, {2}).to(device);
    EXPECT_EQ(var(spread, {0}, 3.0).item<double>(), kInf);
    EXPECT_TRUE(std::isnan(var(flat, {0}, 2.0).item<double>()));
  }
}

TEST(ReduceValues, MaxAlongADimOfAnEmptyBatchIsEmpty) {
  const ValuesAndIndices m = max(zeros({0, 4}), 1);
  EXPECT_EQ(m.values.shape(), (Shape{0}));
  EXPECT_EQ(m.indices.shape(), (Shape{0}));
  EXPECT_EQ(m.indices.dtype(), DType::Int64);
  EXPECT_EQ(argmax(zeros({0, 4}), 1).shape(), (Shape{0}));
}

}  // namespace
}  // namespace trifecta
