// Copies that take the tiled transpose loop of kernels/copy/copy_cpu.cpp, checked element by element
// against index arithmetic on a source whose values encode their own position:
//   registers  same dtype, both tile sides contiguous: 8 x 8 tiles transposed in registers, for elements of
//              1, 2, 4 and 8 bytes (bool, bfloat16 and float16, float32 and int32, float64 and int64)
//   buffer     a conversion, a strided source or a strided destination: tiles go through a buffer
// Sizes are not multiples of the 8-element tile or the 64-element block, so partial tiles run too, and
// permutations of 3- and 4-dim tensors exercise the batch dims around the two tiled ones.
#include <gtest/gtest.h>

#include <numeric>

#include "autograd/ops.h"
#include "kernels/common/parallel.h"

namespace trifecta {
namespace {

// Values 0, 1, 2, ... modulo 251 (exact in every dtype but bool, which gets i % 251 != 0).
double value_at(int64_t linear) { return static_cast<double>(linear % 251); }

Tensor source(const Shape& shape, DType dtype) {
  std::vector<double> v(shape.numel());
  for (int64_t i = 0; i < shape.numel(); ++i) v[i] = value_at(i);
  return from_vector(v, shape).to(dtype);
}

// What x.permute(dims) holds at each row-major position, x being contiguous with source()'s values.
std::vector<double> permuted_values(const Shape& shape, const std::vector<int64_t>& dims, DType dtype) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int d = shape.size() - 2; d >= 0; --d) strides[d] = strides[d + 1] * shape[d + 1];
  Shape out_shape;
  for (int64_t d : dims) out_shape.push_back(shape[d]);
  std::vector<double> out(shape.numel());
  for (int64_t i = 0; i < shape.numel(); ++i) {
    int64_t rest = i, linear = 0;
    for (int k = out_shape.size() - 1; k >= 0; --k) {
      linear += rest % out_shape[k] * strides[dims[k]];
      rest /= out_shape[k];
    }
    out[i] = dtype == DType::Bool ? (value_at(linear) != 0 ? 1.0 : 0.0) : value_at(linear);
  }
  return out;
}

struct Permutation {
  Shape shape;
  std::vector<int64_t> dims;
};

const std::vector<Permutation> kPermutations = {
    {{37, 53}, {1, 0}},              // a matrix transpose, partial tiles on both sides
    {{130, 70}, {1, 0}},             // more than one 64-element block each way
    {{3, 67, 45}, {0, 2, 1}},        // a batch of transposes
    {{5, 6, 7, 19}, {0, 2, 3, 1}},   // NCHW -> NHWC
    {{21, 4, 3, 33}, {3, 1, 2, 0}},  // outermost and innermost swapped, batch dims in between
};

class CopyPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_threads_ = get_num_threads();
    set_num_threads(3);  // tasks split unevenly across threads
  }
  void TearDown() override { set_num_threads(previous_threads_); }

 private:
  int previous_threads_ = 1;
};

TEST_F(CopyPaths, SameDTypeTransposesInRegisters) {
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::BFloat16, DType::Float16,
                      DType::Bool}) {
    for (const Permutation& p : kPermutations) {
      const Tensor y = source(p.shape, dtype).permute(p.dims).contiguous();
      EXPECT_EQ(y.to_vector<double>(), permuted_values(p.shape, p.dims, dtype))
          << dtype_name(dtype) << " " << p.shape.str();
    }
  }
}

TEST_F(CopyPaths, ConvertingTransposesThroughTheBuffer) {
  for (auto [from, to] : {std::pair{DType::Float32, DType::Float64}, std::pair{DType::Float64, DType::BFloat16},
                          std::pair{DType::Int64, DType::Float32}, std::pair{DType::Float16, DType::Int32}}) {
    for (const Permutation& p : kPermutations) {
      const Tensor y = source(p.shape, from).permute(p.dims).to(to);
      EXPECT_EQ(y.to_vector<double>(), permuted_values(p.shape, p.dims, to))
          << dtype_name(from) << " -> " << dtype_name(to) << " " << p.shape.str();
    }
  }
}

TEST_F(CopyPaths, StridedSourceAndDestination) {
  // Every other column of a [40, 2 * 50] source, transposed: the tile's source side has stride 2.
  const Tensor wide = source({40, 100}, DType::Float32);
  const std::vector<double> all = wide.to_vector<double>();
  const Tensor from_strided = wide.slice(1, 0, 100, 2).t().contiguous();
  std::vector<double> expected;
  for (int64_t c = 0; c < 100; c += 2)
    for (int64_t r = 0; r < 40; ++r) expected.push_back(all[r * 100 + c]);
  EXPECT_EQ(from_strided.to_vector<double>(), expected);

  // Into every other row of a transposed destination: the tile's destination side has stride 2.
  const Tensor x = source({45, 38}, DType::Float32);
  const Tensor buffer = zeros({2 * 38, 45});
  copy_(buffer.slice(0, 0, 2 * 38, 2).t(), x);
  const std::vector<double> got = buffer.to_vector<double>(), xs = x.to_vector<double>();
  for (int64_t r = 0; r < 45; ++r)
    for (int64_t c = 0; c < 38; ++c) {
      ASSERT_EQ(got[(2 * c) * 45 + r], xs[r * 38 + c]) << r << ", " << c;
      ASSERT_EQ(got[(2 * c + 1) * 45 + r], 0.0) << r << ", " << c;
    }
}

}  // namespace
}  // namespace trifecta
