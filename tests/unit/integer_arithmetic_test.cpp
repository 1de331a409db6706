// Integer arithmetic as PyTorch does it: add, sub, mul, neg, abs, square, pow and sum wrap modulo 2^32 or
// 2^64 (two's complement) on both devices, where C++'s signed overflow would be undefined (the sanitizer
// build runs these tests to prove none is left); a number added to an int32 tensor is reduced modulo 2^32
// the same way, and one that does not fit int64 is refused; tensor-tensor pow of integers stays integer;
// division of integers is true division. The references compute exactly in a wider type (int64 for int32,
// __int128 for int64) and reduce modulo 2^bits.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta::testing {
namespace {

constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min(), kMax32 = std::numeric_limits<int32_t>::max();
constexpr int64_t kMin64 = std::numeric_limits<int64_t>::min(), kMax64 = std::numeric_limits<int64_t>::max();

// v modulo 2^bits, as the signed integer of that width it represents (two's complement).
template <class T>
T wrapped(__int128 v) {
  const unsigned __int128 modulus = static_cast<unsigned __int128>(1) << (8 * sizeof(T));
  unsigned __int128 r = static_cast<unsigned __int128>(v) % modulus;  // v mod 2^128, then mod 2^bits
  if (r >= modulus / 2) return static_cast<T>(static_cast<__int128>(r) - static_cast<__int128>(modulus));
  return static_cast<T>(r);
}

template <class T>
Tensor ints(const std::vector<T>& values, Device device) {
  return from_vector(values, {static_cast<int64_t>(values.size())}).to(device);
}

// Operands that overflow in every op: the extremes, their neighbours, values whose product or square
// passes the limit, and small ones.
template <class T>
std::vector<T> awkward_values() {
  constexpr T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  const T root = sizeof(T) == 4 ? T(46341) : T(3037000500);  // the smallest n with n^2 beyond the max
  return {lo, T(lo + 1), hi, T(hi - 1), T(-1), T(0), T(1), T(2), root, T(-root), T(hi / 3), T(lo / 3), T(7)};
}

template <class T>
void expect_ints(const Tensor& got, const std::vector<T>& expected, const char* what) {
  ASSERT_EQ(got.dtype(), dtype_of<T>()) << what;
  const std::vector<T> values = got.to(kCPU).to_vector<T>();
  ASSERT_EQ(values.size(), expected.size()) << what;
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(values[i], expected[i]) << what << ", element " << i;
}

// Every pair of awkward values through add, sub and mul (a column against a row: the broadcast and strided
// loop paths), and each value through neg, abs and square.
template <class T>
void check_wrapping_arithmetic(Device device) {
  const std::vector<T> v = awkward_values<T>();
  const int64_t n = static_cast<int64_t>(v.size());
  const Tensor column = ints(v, device).reshape({n, 1}), row = ints(v, device).reshape({1, n});
  std::vector<T> sums, differences, products;
  for (const T a : v) {
    for (const T b : v) {
      sums.push_back(wrapped<T>(static_cast<__int128>(a) + b));
      differences.push_back(wrapped<T>(static_cast<__int128>(a) - b));
      products.push_back(wrapped<T>(static_cast<__int128>(a) * b));
    }
  }
  expect_ints(add(column, row).reshape({n * n}), sums, "add");
  expect_ints(sub(column, row).reshape({n * n}), differences, "sub");
  expect_ints(mul(column, row).reshape({n * n}), products, "mul");

  std::vector<T> negated, absolute, squares;
  for (const T a : v) {
    negated.push_back(wrapped<T>(-static_cast<__int128>(a)));
    absolute.push_back(wrapped<T>(a < 0 ? -static_cast<__int128>(a) : a));
    squares.push_back(wrapped<T>(static_cast<__int128>(a) * a));
  }
  const Tensor x = ints(v, device);
  expect_ints(neg(x), negated, "neg");
  expect_ints(abs(x), absolute, "abs");
  expect_ints(square(x), squares, "square");

  // In place, through the same kernels, with the tensor-and-0-dim-tensor loop.
  const Tensor y = x.clone();
  add_(y, ints<T>({std::numeric_limits<T>::max()}, device).reshape({}));
  std::vector<T> shifted;
  for (const T a : v) shifted.push_back(wrapped<T>(static_cast<__int128>(a) + std::numeric_limits<T>::max()));
  expect_ints(y, shifted, "add_");
}

TEST(IntegerArithmetic, Int32WrapsOnOverflow) { check_wrapping_arithmetic<int32_t>(kCPU); }
TEST(IntegerArithmetic, Int64WrapsOnOverflow) { check_wrapping_arithmetic<int64_t>(kCPU); }
TEST(IntegerArithmetic, CudaWrapsAsTheCpuDoes) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  check_wrapping_arithmetic<int32_t>(kCUDA);
  check_wrapping_arithmetic<int64_t>(kCUDA);
}

// A sum is a chain of additions: it wraps too.
TEST(IntegerArithmetic, SumWraps) {
  expect_ints(sum(ints<int64_t>({kMax64, 1, kMax64}, kCPU)), std::vector<int64_t>{wrapped<int64_t>(__int128(kMax64) * 2 + 1)},
              "sum");
  expect_ints(sum(ints<int64_t>({kMin64, -1}, kCPU)), std::vector<int64_t>{kMax64}, "sum");
}

// PyTorch converts a Python int to the tensor's integer type by truncation, so int32 arithmetic with a
// number is the exact result modulo 2^32, like any overflowing int32 result; a number beyond int64 (what a
// Python int unpacks to) is refused.
TEST(IntegerArithmetic, ANumberBeyondInt32WrapsInInt32Arithmetic) {
  const Tensor x = ints<int32_t>({1, -2, kMax32}, kCPU);
  const int64_t big = (int64_t{1} << 40) + 5;
  std::vector<int32_t> sums, differences, reversed, products;
  for (const int32_t a : {1, -2, kMax32}) {
    sums.push_back(wrapped<int32_t>(__int128(a) + big));
    differences.push_back(wrapped<int32_t>(__int128(a) - big));
    reversed.push_back(wrapped<int32_t>(__int128(big) - a));
    products.push_back(wrapped<int32_t>(__int128(a) * big));
  }
  expect_ints(add(x, big), sums, "add");
  expect_ints(x + big, sums, "operator+");
  expect_ints(big + x, sums, "number + tensor");
  expect_ints(sub(x, big), differences, "sub");
  expect_ints(big - x, reversed, "number - tensor");
  expect_ints(mul(x, big), products, "mul");
  expect_ints(mul(x, -big), [&] {
    std::vector<int32_t> r;
    for (const int32_t a : {1, -2, kMax32}) r.push_back(wrapped<int32_t>(__int128(a) * -big));
    return r;
  }(), "mul by a negative number");
  const Tensor y = x.clone();
  mul_(y, big);
  expect_ints(y, products, "mul_");
  // Where a wrapped number would change the answer, not just wrap it, it is refused as before.
  expect_op_error([&] { lt(x, big); }, "lt", "int32");
  expect_op_error([&] { maximum(x, big); }, "maximum", "int32");
  expect_op_error([&] { clamp(x, 0, big); }, "clamp", "int32");
  expect_op_error([&] { where(ones({3}, DType::Bool), x, big); }, "where", "int32");
  // uint64 values above int64's range: no integer dtype here holds them.
  const uint64_t huge = uint64_t{1} << 63;
  expect_op_error([&] { add(x, huge); }, "add", "int64");
  expect_op_error([&] { add(ints<int64_t>({1}, kCPU), huge); }, "add", "int64");
}

// Integer numbers are exact beyond 2^53, where a double would round them.
TEST(IntegerArithmetic, Int64NumbersAreExact) {
  const int64_t odd = (int64_t{1} << 60) + 1;
  expect_ints(add(ints<int64_t>({0, 2}, kCPU), odd), std::vector<int64_t>{odd, odd + 2}, "add");
  expect_ints(sub(ints<int64_t>({0, 2}, kCPU), kMax64), std::vector<int64_t>{-kMax64, 2 - kMax64}, "sub");
  expect_ints(add(ints<int32_t>({0, 2}, kCPU), kMax64), std::vector<int32_t>{-1, 1}, "int32 + int64 max");
}

// x^n for integers by repeated multiplication modulo 2^bits; a negative n gives 1 / x^|n| truncated to an
// integer: 1 for x = 1, +-1 for x = -1, 0 otherwise (x = 0 included), as PyTorch's integer pow.
template <class T>
T integer_power(T x, T n) {
  if (n < 0) return x == 1 ? T(1) : x == -1 ? T(n % 2 == 0 ? 1 : -1) : T(0);
  __int128 r = 1;
  for (T i = 0; i < n; ++i) r = wrapped<T>(r * x);
  return static_cast<T>(r);
}

template <class T>
void check_integer_pow(Device device) {
  const std::vector<T> bases = {2, -1, -1, 1, 0, 3, 0, -2, 2, 3, 7, -3, 5};
  const std::vector<T> exponents = {-1, -1, -2, -5, -1, -2, 0, 3, 31, 40, 1, 5, 70};
  std::vector<T> expected;
  for (size_t i = 0; i < bases.size(); ++i) expected.push_back(integer_power(bases[i], exponents[i]));
  expect_ints(pow(ints(bases, device), ints(exponents, device)), expected, "pow");
}

TEST(IntegerArithmetic, TensorPowOfIntegersStaysInteger) {
  check_integer_pow<int32_t>(kCPU);
  check_integer_pow<int64_t>(kCPU);
  // int32 with int64 promotes to int64; an integer with a floating tensor to the floating dtype.
  EXPECT_EQ(pow(ints<int32_t>({2}, kCPU), ints<int64_t>({3}, kCPU)).dtype(), DType::Int64);
  const Tensor mixed = pow(ints<int64_t>({4}, kCPU), from_vector<float>({0.5f}, {1}));
  EXPECT_EQ(mixed.dtype(), DType::Float32);
  EXPECT_EQ(mixed.item<float>(), 2.0f);
  // bool meets int64 in int64; two bools have no pow, as in PyTorch.
  expect_ints(pow(from_vector<bool>({true, false}, {2}), ints<int64_t>({2, 3}, kCPU)), std::vector<int64_t>{1, 0},
              "pow of bools");
  expect_op_error([] { pow(ones({2}, DType::Bool), ones({2}, DType::Bool)); }, "pow", "bool");
}

TEST(IntegerArithmetic, CudaTensorPowOfIntegers) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  check_integer_pow<int32_t>(kCUDA);
  check_integer_pow<int64_t>(kCUDA);
}

TEST(IntegerArithmetic, DivisionOfIntegersIsTrueDivisionAndMeanIsRefused) {
  const Tensor q = div(ints<int32_t>({7, -7, 1}, kCPU), ints<int32_t>({2, 2, 0}, kCPU));
  ASSERT_EQ(q.dtype(), DType::Float32);
  const std::vector<float> values = q.to_vector<float>();
  EXPECT_EQ(values[0], 3.5f);
  EXPECT_EQ(values[1], -3.5f);
  EXPECT_EQ(values[2], std::numeric_limits<float>::infinity());
  expect_op_error([] { mean(ints<int32_t>({1, 2}, kCPU)); }, "mean", "floating dtype", "int32");
  expect_op_error([] { mean(ones({2}, DType::Bool)); }, "mean", "bool");
}

}  // namespace
}  // namespace trifecta::testing
