// Type promotion as PyTorch does it: a number (Scalar) takes part only through its kind (bool, integer,
// floating), so an integer tensor with a floating number computes in float32 and a float16 tensor stays
// float16; two tensors promote by dtype (float32 with float64 gives float64), except that a 0-dim tensor
// only counts when its kind is higher. Comparisons compare in the promoted type; an in-place op whose result
// type cannot be stored in its destination is an Error. The expected values are written out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "tensor/promotion.h"
#include "tests/harness/expect_error.h"

namespace trifecta::testing {
namespace {

Tensor ints(std::vector<int64_t> values, DType dtype = DType::Int64) {
  const Shape shape{static_cast<int64_t>(values.size())};
  return from_vector(values, shape, {dtype});
}
Tensor floats(std::vector<double> values, DType dtype = DType::Float32) {
  const Shape shape{static_cast<int64_t>(values.size())};
  return from_vector(values, shape, {dtype});
}
Tensor flags(std::vector<bool> values) {
  const Shape shape{static_cast<int64_t>(values.size())};
  return from_vector(values, shape, {DType::Bool});
}

void expect_values(const Tensor& t, DType dtype, const std::vector<double>& expected) {
  EXPECT_EQ(t.dtype(), dtype) << "got " << t.str();
  const std::vector<double> got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(expected[i])) EXPECT_TRUE(std::isnan(got[i])) << "element " << i << " of " << t.str();
    else EXPECT_EQ(got[i], expected[i]) << "element " << i << " of " << t.str();
  }
}
void expect_flags(const Tensor& t, const std::vector<double>& expected) { expect_values(t, DType::Bool, expected); }

TEST(TypePromotion, AnIntegerTensorWithAFloatingNumberComputesInFloat32) {
  const Tensor x = ints({1, 2, -3});
  expect_values(mul(x, 0.5), DType::Float32, {0.5, 1.0, -1.5});
  expect_values(x * 0.5, DType::Float32, {0.5, 1.0, -1.5});
  expect_values(0.5 * x, DType::Float32, {0.5, 1.0, -1.5});
  expect_values(add(x, 0.5), DType::Float32, {1.5, 2.5, -2.5});
  expect_values(sub(x, 0.5), DType::Float32, {0.5, 1.5, -3.5});
  expect_values(0.5 - x, DType::Float32, {-0.5, -1.5, 3.5});
  expect_values(0.5 + x, DType::Float32, {1.5, 2.5, -2.5});
  expect_values(maximum(x, 0.5), DType::Float32, {1.0, 2.0, 0.5});
  expect_values(minimum(x, 0.5), DType::Float32, {0.5, 0.5, -3.0});
  expect_values(clamp(x, -0.5, 1.5), DType::Float32, {1.0, 1.5, -0.5});
  expect_values(pow(ints({1, 4, 9}), 0.5), DType::Float32, {1.0, 2.0, 3.0});
  expect_values(where(flags({true, false, true}), x, 0.5), DType::Float32, {1.0, 0.5, -3.0});
  expect_values(where(flags({true, false, true}), 0.5, x), DType::Float32, {0.5, 2.0, 0.5});
  expect_values(mul(ints({1, 2, -3}, DType::Int32), 2.5), DType::Float32, {2.5, 5.0, -7.5});
}

TEST(TypePromotion, AnIntegerNumberKeepsAnIntegerTensorsDtype) {
  expect_values(mul(ints({1, 2, -3}), 2), DType::Int64, {2, 4, -6});
  expect_values(mul(ints({1, 2, -3}, DType::Int32), 2), DType::Int32, {2, 4, -6});
  expect_values(add(ints({1, 2, -3}, DType::Int32), int64_t{5}), DType::Int32, {6, 7, 2});
  expect_values(ints({1, 2, -3}) - 1, DType::Int64, {0, 1, -4});
  expect_values(10 - ints({1, 2, -3}), DType::Int64, {9, 8, 13});
  expect_values(maximum(ints({1, 2, -3}), 0), DType::Int64, {1, 2, 0});
  expect_values(clamp(ints({1, 2, -3}), 0, 1), DType::Int64, {1, 1, 0});
  expect_values(clamp(ints({1, 2, -3}, DType::Int32), -1, 1), DType::Int32, {1, 1, -1});
  expect_values(pow(ints({1, -2, 3}), 2), DType::Int64, {1, 4, 9});
  expect_values(pow(ints({-2, 3}, DType::Int32), 3), DType::Int32, {-8, 27});
  expect_values(pow(ints({5, 0}), 0), DType::Int64, {1, 1});
  expect_op_error([] { pow(ints({2}), -1); }, "pow", "negative");
  // A bound too large for the tensor's integer type would change meaning if wrapped: refused, as in PyTorch
  // (arithmetic with such a number wraps instead: tests/unit/integer_arithmetic_test.cpp).
  expect_op_error([] { clamp(ints({1}, DType::Int32), 0, int64_t{1} << 40); }, "clamp", "int32");
}

// clamp is min(max(x, lo), hi), so lo > hi gives hi everywhere, as in PyTorch.
TEST(TypePromotion, ClampWithMinAboveMaxGivesMax) {
  expect_values(clamp(ints({-3, 0, 5}), 4, 1), DType::Int64, {1, 1, 1});
  expect_values(clamp(ints({-3, 0, 5}, DType::Int32), 4, 1), DType::Int32, {1, 1, 1});
  expect_values(clamp(floats({-3.0, 1.5, 5.0, NAN}), 2.0, 1.0), DType::Float32, {1.0, 1.0, 1.0, NAN});
}

// PyTorch's floating functions take an integer or bool input in the default floating dtype, float32. The
// reference is the C library in double, rounded once to float32.
struct FloatingFunction {
  const char* name;
  Tensor (*op)(const Tensor&);
  double (*reference)(double);
};
const FloatingFunction kFloatingFunctions[] = {
    {"exp", &exp, [](double v) { return std::exp(v); }},
    {"expm1", &expm1, [](double v) { return std::expm1(v); }},
    {"log", &log, [](double v) { return std::log(v); }},
    {"log1p", &log1p, [](double v) { return std::log1p(v); }},
    {"sqrt", &sqrt, [](double v) { return std::sqrt(v); }},
    {"rsqrt", &rsqrt, [](double v) { return 1.0 / std::sqrt(v); }},
    {"reciprocal", &reciprocal, [](double v) { return 1.0 / v; }},
    {"sin", &sin, [](double v) { return std::sin(v); }},
    {"cos", &cos, [](double v) { return std::cos(v); }},
    {"tanh", &tanh, [](double v) { return std::tanh(v); }},
    {"sigmoid", &sigmoid, [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
};

void check_floating_functions_of_integers(Device device) {
  const std::vector<int64_t> values = {-2, 0, 1, 3, 40};
  const std::vector<Tensor> inputs = {ints(values), ints(values, DType::Int32), flags({true, false})};
  for (const FloatingFunction& f : kFloatingFunctions) {
    for (const Tensor& x : inputs) {
      const Tensor y = f.op(x.to(device));
      ASSERT_EQ(y.dtype(), DType::Float32) << f.name << " of " << x.str();
      const std::vector<double> in = x.to_vector<double>(), got = y.to(kCPU).to_vector<double>();
      ASSERT_EQ(got.size(), in.size());
      for (size_t i = 0; i < in.size(); ++i) {
        const double expected = static_cast<float>(f.reference(in[i]));
        if (std::isnan(expected) || std::isinf(expected)) {
          EXPECT_TRUE(std::isnan(expected) ? std::isnan(got[i]) : got[i] == expected)
              << f.name << "(" << in[i] << ") = " << got[i] << ", expected " << expected;
        } else {
          EXPECT_NEAR(got[i], expected, 4e-7 * std::fabs(expected) + 1e-30) << f.name << "(" << in[i] << ")";
        }
      }
    }
  }
  // A reduction too: logsumexp of integers is float32, log(sum(exp(x))) of the values.
  for (const Tensor& x : inputs) {
    const Tensor y = logsumexp(x.to(device), {0}, false);
    ASSERT_EQ(y.dtype(), DType::Float32) << "logsumexp of " << x.str();
    double expected = 0;
    for (double v : x.to_vector<double>()) expected += std::exp(v);
    EXPECT_NEAR(y.to(kCPU).item<double>(), std::log(expected), 4e-7 * std::log(expected)) << "logsumexp of " << x.str();
  }
}

TEST(TypePromotion, FloatingFunctionsOfIntegersComputeInFloat32) { check_floating_functions_of_integers(kCPU); }
TEST(TypePromotion, CudaFloatingFunctionsOfIntegersComputeInFloat32) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  check_floating_functions_of_integers(kCUDA);
}

// Ops PyTorch defines on integers keep the dtype (relu, neg, abs); square of bool is pow(bool, 2), an int64.
// The activations it does not define on integers (leaky_relu, elu, gelu, silu, softplus) refuse them, as do
// neg and abs on bool.
TEST(TypePromotion, IntegerPreservingOpsKeepTheDtypeAndActivationsRefuseIntegers) {
  expect_values(relu(ints({-2, 0, 3})), DType::Int64, {0, 0, 3});
  expect_values(relu(ints({-2, 0, 3}, DType::Int32)), DType::Int32, {0, 0, 3});
  expect_values(neg(ints({-2, 0, 3}, DType::Int32)), DType::Int32, {2, 0, -3});
  expect_values(abs(ints({-2, 0, 3})), DType::Int64, {2, 0, 3});
  expect_values(square(flags({true, false})), DType::Int64, {1, 0});
  expect_values(square(ints({-3}, DType::Int32)), DType::Int32, {9});
  expect_op_error([] { relu(flags({true})); }, "relu", "bool");
  expect_op_error([] { neg(flags({true})); }, "neg", "bool");
  expect_op_error([] { abs(flags({true})); }, "abs", "bool");
  expect_op_error([] { leaky_relu(ints({1}), 0.1); }, "leaky_relu", "int64");
  expect_op_error([] { elu(ints({1}), 1.0); }, "elu", "int64");
  expect_op_error([] { gelu(ints({1}, DType::Int32), false); }, "gelu", "int32");
  expect_op_error([] { silu(ints({1})); }, "silu", "int64");
  expect_op_error([] { softplus(ints({1}), 1.0, 20.0); }, "softplus", "int64");
}

TEST(TypePromotion, DivisionIsTrueDivision) {
  expect_values(div(ints({1, 2, -3}), 2), DType::Float32, {0.5, 1.0, -1.5});
  expect_values(ints({1, 2, -3}) / 2.0, DType::Float32, {0.5, 1.0, -1.5});
  expect_values(div(ints({3, -3}, DType::Int32), ints({2, 2}, DType::Int32)), DType::Float32, {1.5, -1.5});
  expect_values(1.0 / ints({1, 2, 4}), DType::Float32, {1.0, 0.5, 0.25});
  expect_values(div(flags({true, false}), 2), DType::Float32, {0.5, 0.0});
}

TEST(TypePromotion, ComparisonsCompareInThePromotedType) {
  const Tensor x = ints({1, 2, -3});
  expect_flags(lt(x, 0.5), {0, 0, 1});
  expect_flags(le(x, 0.5), {0, 0, 1});
  expect_flags(gt(x, 0.5), {1, 1, 0});
  expect_flags(ge(x, 1.5), {0, 1, 0});
  expect_flags(eq(x, 1.0), {1, 0, 0});
  expect_flags(eq(x, 1.5), {0, 0, 0});
  expect_flags(ne(x, 1.5), {1, 1, 1});
  expect_flags(lt(flags({true, false}), 0.5), {0, 1});
  expect_flags(lt(x, floats({1.5, 1.5, -3.5})), {1, 0, 0});
  expect_flags(eq(ints({1, 2}, DType::Int32), ints({1, 3})), {1, 0});
  // float16 with a number compares in float16: 0.1 rounds to the same float16 on both sides.
  expect_flags(lt(floats({0.1}, DType::Float16), 0.1), {0});
}

TEST(TypePromotion, BoolTensorsPromoteToTheNumbersKind) {
  expect_values(add(flags({true, false}), 1), DType::Int64, {2, 1});
  expect_values(add(flags({true, false}), 1.5), DType::Float32, {2.5, 1.5});
  expect_values(mul(floats({1.5, -2.0}), flags({true, false})), DType::Float32, {1.5, -0.0});
}

TEST(TypePromotion, FloatingTensorsKeepTheirDtypeWithNumbers) {
  expect_values(mul(floats({1.0, 3.0}, DType::Float16), 0.5), DType::Float16, {0.5, 1.5});
  expect_values(add(floats({1.0, 3.0}, DType::BFloat16), 2), DType::BFloat16, {3.0, 5.0});
  expect_values(add(floats({1.0}, DType::Float64), 0.1), DType::Float64, {1.1});
  expect_values(pow(floats({2.0, 3.0}), 2), DType::Float32, {4.0, 9.0});
}

TEST(TypePromotion, TwoTensorsPromoteByDtype) {
  expect_values(add(floats({1.5}), floats({0.25}, DType::Float64)), DType::Float64, {1.75});
  expect_values(add(ints({1}), floats({0.5})), DType::Float32, {1.5});
  expect_values(add(ints({1}, DType::Int32), ints({2})), DType::Int64, {3});
  expect_values(add(floats({1.0}, DType::Float16), floats({2.0}, DType::BFloat16)), DType::Float32, {3.0});
  expect_values(mul(floats({3.0}, DType::Float16), ints({2})), DType::Float16, {6.0});
  expect_values(maximum(ints({1, 5}), floats({1.5, 2.0})), DType::Float32, {1.5, 5.0});
  expect_values(where(flags({true, false}), ints({1, 2}), floats({0.5, 0.5})), DType::Float32, {1.0, 0.5});
  expect_values(where(flags({true, false}), floats({1.0, 2.0}), floats({3.0, 4.0}, DType::Float64)), DType::Float64,
                {1.0, 4.0});
}

TEST(TypePromotion, AZeroDimTensorCountsOnlyWhenItsKindIsHigher) {
  expect_values(add(floats({1.5, -2.0}), scalar_tensor(1.0, DType::Float64)), DType::Float32, {2.5, -1.0});
  expect_values(add(ints({1, 2}), scalar_tensor(1.5, DType::Float64)), DType::Float64, {2.5, 3.5});
  expect_values(add(ints({1, 2}, DType::Int32), scalar_tensor(1, DType::Int64)), DType::Int32, {2, 3});
  expect_values(add(floats({1.5}, DType::Float16), scalar_tensor(1.0)), DType::Float16, {2.5});
  expect_values(add(scalar_tensor(1.0, DType::Float64), scalar_tensor(1.0)), DType::Float64, {2.0});
}

TEST(TypePromotion, GradientsReturnInEachInputsOwnDtype) {
  Tensor a = floats({1.5, -2.0}).requires_grad_();
  Tensor b = floats({2.0, 4.0}, DType::Float64).requires_grad_();
  const Tensor y = mul(a, b);
  ASSERT_EQ(y.dtype(), DType::Float64);
  sum(y).backward();
  expect_values(a.grad(), DType::Float32, {2.0, 4.0});
  expect_values(b.grad(), DType::Float64, {1.5, -2.0});
}

TEST(TypePromotion, InPlaceResultsMustFitTheDestination) {
  const Tensor x = ints({1, 2, -3});
  expect_op_error([&] { mul_(x, 0.5); }, "mul_", "float32", "int64");
  expect_op_error([&] { add_(x, floats({1.0, 1.0, 1.0})); }, "add_", "float32", "int64");
  expect_op_error([&] { add_(flags({true}), ints({1})); }, "add_", "int64", "bool");
  expect_values(x, DType::Int64, {1, 2, -3});
  mul_(x, 2);
  expect_values(x, DType::Int64, {2, 4, -6});
  // A float destination takes any result it can hold, computed in the promoted type and stored.
  const Tensor f = floats({1.5, -2.0});
  add_(f, ints({1, 2}));
  expect_values(f, DType::Float32, {2.5, 0.0});
  add_(f, floats({0.25, 0.5}, DType::Float64));
  expect_values(f, DType::Float32, {2.75, 0.5});
  mul_(f, flags({true, false}));
  expect_values(f, DType::Float32, {2.75, 0.0});
}

TEST(TypePromotion, ResultTypeRules) {
  EXPECT_EQ(promote_types(DType::Float16, DType::BFloat16), DType::Float32);
  EXPECT_EQ(promote_types(DType::Int32, DType::Float16), DType::Float16);
  EXPECT_EQ(promote_types(DType::Bool, DType::Int32), DType::Int32);
  EXPECT_EQ(promote_types(DType::Int64, DType::Int32), DType::Int64);
  EXPECT_EQ(promote_types(DType::Float32, DType::Float64), DType::Float64);
  EXPECT_EQ(result_type(ints({1}), Scalar(0.5)), DType::Float32);
  EXPECT_EQ(result_type(ints({1}, DType::Int32), Scalar(7)), DType::Int32);
  EXPECT_EQ(result_type(flags({true}), Scalar(true)), DType::Bool);
  EXPECT_EQ(result_type(flags({true}), Scalar(3)), DType::Int64);
  EXPECT_TRUE(can_cast(DType::Int64, DType::Float16));
  EXPECT_TRUE(can_cast(DType::Bool, DType::Int32));
  EXPECT_FALSE(can_cast(DType::Float32, DType::Int64));
  EXPECT_FALSE(can_cast(DType::Int32, DType::Bool));
}

}  // namespace
}  // namespace trifecta::testing
