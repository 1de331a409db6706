// Tensor metadata and views: the shape, strides and offset every view produces, which views share storage
// and which copy, dtype conversions between every pair of dtypes, host read-back, and the bounds check of
// as_strided. Values are checked too, since a wrong stride shows up as a wrong element.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

// 0, 1, 2, ... in float32 with the given shape.
Tensor iota(const Shape& shape) { return arange(0.0, static_cast<double>(shape.numel()), 1.0, DType::Float32).view(shape); }

bool shares_storage(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

TEST(TensorViews, ViewAndReshape) {
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(x.strides(), (Strides{12, 4, 1}));
  EXPECT_TRUE(x.is_contiguous());

  const Tensor v = x.view({4, 6});
  EXPECT_EQ(v.shape(), (Shape{4, 6}));
  EXPECT_EQ(v.strides(), (Strides{6, 1}));
  EXPECT_TRUE(shares_storage(v, x));
  EXPECT_EQ(values(v), values(x));
  EXPECT_EQ(x.view({-1, 4}).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.view({24}).strides(), (Strides{1}));

  // A transposed tensor cannot be flattened without a copy: view refuses, reshape copies.
  const Tensor t = x.transpose(1, 2);
  EXPECT_EQ(t.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(t.strides(), (Strides{12, 1, 4}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_ERROR_CONTAINS(t.view({2, 12}), "view", "incompatible", "[2, 12]", "use reshape");
  const Tensor r = t.reshape({2, 12});
  EXPECT_FALSE(shares_storage(r, x));
  EXPECT_TRUE(r.is_contiguous());
  EXPECT_EQ(values(r), values(t));
  // Views that keep the transposed dims apart still share storage.
  const Tensor split = t.view({2, 2, 2, 3});
  EXPECT_TRUE(shares_storage(split, x));
  EXPECT_EQ(split.strides(), (Strides{12, 2, 1, 4}));
  EXPECT_EQ(values(split), values(t));
  // reshape of a contiguous tensor is a view.
  EXPECT_TRUE(shares_storage(x.reshape({3, 8}), x));

  EXPECT_ERROR_CONTAINS(x.view({5, 5}), "view", "[5, 5]", "invalid for 24 elements");
  EXPECT_ERROR_CONTAINS(x.reshape({-1, -1}), "reshape", "only one dimension can be -1");
  EXPECT_ERROR_CONTAINS(x.reshape({-1, 5}), "reshape", "invalid for 24 elements");
  EXPECT_ERROR_CONTAINS(x.view({-2, 12}), "view", "invalid dimension -2");
}

TEST(TensorViews, PermuteAndTranspose) {
  const Tensor x = iota({2, 3, 4});
  const Tensor p = x.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Strides{1, 12, 4}));
  EXPECT_EQ(p.offset(), 0);
  EXPECT_TRUE(shares_storage(p, x));
  const std::vector<float> pv = values(p), xv = values(x);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(pv[(i * 2 + j) * 3 + k], xv[(j * 3 + k) * 4 + i]);
  EXPECT_EQ(x.permute({-1, -2, -3}).strides(), (Strides{1, 4, 12}));
  EXPECT_EQ(x.transpose(0, -1).strides(), (Strides{1, 4, 12}));
  EXPECT_EQ(iota({3, 5}).t().strides(), (Strides{1, 5}));
  EXPECT_ERROR_CONTAINS(x.permute({0, 0, 1}), "permute", "repeated");
  EXPECT_ERROR_CONTAINS(x.permute({0, 1}), "permute", "got 2 dims for a tensor of 3 dimensions");
  EXPECT_ERROR_CONTAINS(x.permute({0, 1, 3}), "permute", "dim 3 is out of range");
  EXPECT_ERROR_CONTAINS(x.t(), "t", "at most 2 dimensions");
}

TEST(TensorViews, SliceWithStepsAndNegativeBounds) {
  const Tensor m = iota({6, 7});
  const Tensor s = m.slice(1, 1, 7, 3);
  EXPECT_EQ(s.shape(), (Shape{6, 2}));
  EXPECT_EQ(s.strides(), (Strides{7, 3}));
  EXPECT_EQ(s.offset(), 1);
  EXPECT_TRUE(shares_storage(s, m));
  EXPECT_EQ(values(s.select(0, 2)), (std::vector<float>{15, 18}));

  const Tensor tail = m.slice(0, -2, 100);
  EXPECT_EQ(tail.shape(), (Shape{2, 7}));
  EXPECT_EQ(tail.offset(), 28);
  const Tensor middle = m.slice(-1, -5, -1, 2);  // columns 2 and 4
  EXPECT_EQ(middle.shape(), (Shape{6, 2}));
  EXPECT_EQ(middle.offset(), 2);
  EXPECT_EQ(middle.strides(), (Strides{7, 2}));
  EXPECT_EQ(values(middle.select(0, 0)), (std::vector<float>{2, 4}));
  EXPECT_EQ(m.slice(0, 4, 2).shape(), (Shape{0, 7}));  // an empty range
  EXPECT_EQ(m.slice(0, -100, 2).shape(), (Shape{2, 7}));
  // A slice of a slice composes offsets and strides.
  const Tensor nested = s.slice(0, 1, 6, 2);
  EXPECT_EQ(nested.strides(), (Strides{14, 3}));
  EXPECT_EQ(nested.offset(), 8);
  EXPECT_EQ(values(nested), (std::vector<float>{8, 11, 22, 25, 36, 39}));
  EXPECT_ERROR_CONTAINS(m.slice(0, 0, 6, 0), "slice", "step must be positive");
  EXPECT_ERROR_CONTAINS(m.slice(2, 0, 1), "slice", "dim 2 is out of range");
}

TEST(TensorViews, SelectAndNarrow) {
  const Tensor m = iota({6, 7});
  const Tensor last_column = m.select(1, -1);
  EXPECT_EQ(last_column.shape(), (Shape{6}));
  EXPECT_EQ(last_column.strides(), (Strides{7}));
  EXPECT_EQ(last_column.offset(), 6);
  EXPECT_EQ(values(last_column), (std::vector<float>{6, 13, 20, 27, 34, 41}));
  EXPECT_EQ(m.select(0, 3).offset(), 21);
  EXPECT_EQ(m.select(0, 3).select(0, 2).item<float>(), 23.0f);
  EXPECT_EQ(m.select(0, 3).select(0, 2).ndim(), 0);
  EXPECT_ERROR_CONTAINS(m.select(0, 6), "select", "index 6 is out of range for dim 0 of size 6");
  EXPECT_ERROR_CONTAINS(m.select(1, -8), "select", "index -8");

  const Tensor n = m.narrow(0, 2, 3);
  EXPECT_EQ(n.shape(), (Shape{3, 7}));
  EXPECT_EQ(n.offset(), 14);
  EXPECT_TRUE(n.is_contiguous());
  EXPECT_EQ(m.narrow(1, 6, 1).offset(), 6);
  EXPECT_ERROR_CONTAINS(m.narrow(0, 4, 3), "narrow", "range [4, 7) is outside dim 0 of size 6");
  EXPECT_ERROR_CONTAINS(m.narrow(0, -1, 2), "narrow", "outside");
}

TEST(TensorViews, Expand) {
  const Tensor v = iota({3, 1});
  const Tensor e = v.expand({2, 3, 4});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Strides{0, 1, 0}));
  EXPECT_TRUE(shares_storage(e, v));
  EXPECT_FALSE(e.is_contiguous());
  const std::vector<float> ev = values(e);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(ev[(i * 3 + j) * 4 + k], static_cast<float>(j));
  EXPECT_EQ(v.expand({-1, 5}).shape(), (Shape{3, 5}));
  EXPECT_EQ(scalar_tensor(2.0).expand({2, 2}).strides(), (Strides{0, 0}));
  EXPECT_TRUE(v.expand({3, 1}).same(v)) << "expanding to the same shape is the tensor itself";
  EXPECT_ERROR_CONTAINS(v.expand({2, 4}), "expand", "cannot expand [3, 1] to [2, 4]", "dim 0: 3 vs 2");
  EXPECT_ERROR_CONTAINS(v.expand({5}), "expand", "fewer dimensions");
  EXPECT_ERROR_CONTAINS(v.expand({-1, 3, 1}), "expand", "-1 is not allowed for a new leading dimension");
  EXPECT_ERROR_CONTAINS(v.expand({3, -2}), "expand", "-2");
}

TEST(TensorViews, SqueezeUnsqueezeFlatten) {
  const Tensor m = iota({6, 7});
  const Tensor u = m.unsqueeze(1);
  EXPECT_EQ(u.shape(), (Shape{6, 1, 7}));
  EXPECT_TRUE(shares_storage(u, m));
  EXPECT_EQ(m.unsqueeze(-1).shape(), (Shape{6, 7, 1}));
  EXPECT_EQ(m.unsqueeze(0).shape(), (Shape{1, 6, 7}));
  EXPECT_EQ(u.squeeze(1).shape(), (Shape{6, 7}));
  EXPECT_EQ(u.squeeze(0).shape(), (Shape{6, 1, 7})) << "squeezing a dim that is not 1 changes nothing";
  EXPECT_EQ(iota({1, 6, 1, 7}).squeeze().shape(), (Shape{6, 7}));
  EXPECT_EQ(scalar_tensor(1.0).unsqueeze(0).shape(), (Shape{1}));
  EXPECT_ERROR_CONTAINS(m.unsqueeze(3), "unsqueeze", "dim 3 is out of range");
  // Unsqueezing a transposed tensor stays a view.
  const Tensor tu = m.t().unsqueeze(1);
  EXPECT_TRUE(shares_storage(tu, m));
  EXPECT_EQ(values(tu), values(m.t()));

  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(x.flatten().shape(), (Shape{24}));
  EXPECT_EQ(x.flatten(1).shape(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(0, 1).shape(), (Shape{6, 4}));
  EXPECT_EQ(x.flatten(-2, -1).strides(), (Strides{12, 1}));
  EXPECT_TRUE(shares_storage(x.flatten(), x));
  const Tensor tf = x.transpose(0, 2).flatten();
  EXPECT_FALSE(shares_storage(tf, x)) << "flattening a transposed tensor copies";
  EXPECT_EQ(values(tf), values(x.transpose(0, 2)));
  EXPECT_EQ(scalar_tensor(4.0).flatten().shape(), (Shape{1}));
  EXPECT_ERROR_CONTAINS(x.flatten(2, 1), "flatten", "start_dim 2 is after end_dim 1");
}

TEST(TensorViews, ContiguousCopiesOnlyWhenNeeded) {
  const Tensor m = iota({4, 5});
  EXPECT_TRUE(m.contiguous().same(m));
  const Tensor row = m.slice(0, 2, 3);  // shape [1, 5]: a size-1 dim's stride does not matter
  EXPECT_TRUE(row.is_contiguous());
  EXPECT_TRUE(row.contiguous().same(row));
  const Tensor rows = m.narrow(0, 1, 2);
  EXPECT_TRUE(rows.contiguous().same(rows));
  const Tensor t = m.t();
  const Tensor c = t.contiguous();
  EXPECT_FALSE(shares_storage(c, m));
  EXPECT_EQ(c.strides(), (Strides{4, 1}));
  EXPECT_EQ(values(c), values(t));
  const Tensor columns = m.slice(1, 0, 5, 2);
  EXPECT_FALSE(columns.is_contiguous());
  EXPECT_EQ(values(columns.contiguous()), values(columns));
  const Tensor e = iota({1, 5}).expand({3, 5});
  const Tensor ec = e.contiguous();
  EXPECT_EQ(ec.storage()->nbytes(), 15 * sizeof(float));
  EXPECT_EQ(values(ec), values(e));
  // clone always copies.
  EXPECT_FALSE(shares_storage(m.clone(), m));
  EXPECT_TRUE(shares_storage(m.detach(), m));
}

TEST(TensorConversions, EveryDtypePairOnSmallValues) {
  const std::vector<DType> dtypes = {DType::Float32, DType::Float64, DType::Int32, DType::Int64,
                                     DType::Bool,    DType::BFloat16, DType::Float16};
  const std::vector<double> source_values = {0, 1, 2, -3, 100};
  for (DType from : dtypes) {
    // What the source holds: bool keeps only "nonzero".
    std::vector<double> held = source_values;
    if (from == DType::Bool)
      for (double& v : held) v = v != 0;
    const Tensor source = from_vector(source_values, {5}, {from});
    EXPECT_EQ(source.dtype(), from);
    for (DType to : dtypes) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to));
      const Tensor converted = source.to(to);
      EXPECT_EQ(converted.dtype(), to);
      EXPECT_EQ(converted.shape(), (Shape{5}));
      std::vector<double> expected = held;
      if (to == DType::Bool)
        for (double& v : expected) v = v != 0;
      EXPECT_EQ(converted.to_vector<double>(), expected);
      if (to == from) {
        EXPECT_TRUE(converted.same(source)) << "to(own dtype) is the tensor itself";
      }
    }
  }
  // Floating to integer truncates toward zero; float64 to float32 rounds to nearest.
  const Tensor fractions = from_vector(std::vector<double>{2.75, -2.75, 0.5}, {3});
  EXPECT_EQ(fractions.to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{2, -2, 0}));
  EXPECT_EQ(fractions.to(DType::Int32).to_vector<int32_t>(), (std::vector<int32_t>{2, -2, 0}));
  const double third = 1.0 / 3.0;
  EXPECT_EQ(from_vector(std::vector<double>{third}, {1}).to(DType::Float32).item<float>(), static_cast<float>(third));
  EXPECT_EQ(from_vector(std::vector<double>{third}, {1}).to(DType::BFloat16).item<double>(), 0.333984375);
  EXPECT_EQ(from_vector(std::vector<double>{third}, {1}).to(DType::Float16).item<double>(), 0.333251953125);
  // Conversion of a strided source keeps logical order.
  EXPECT_EQ(iota({2, 3}).t().to(DType::Int64).to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
}

// Floating to integer beyond the integer's range: the rule of tensor/half.h (PyTorch's values on x86), on the
// elementwise path (contiguous) and the tiled one (a transposed source), from every floating dtype. The
// source values are NaN, the infinities, values just inside and outside int32 and int64, and fractions.
const std::vector<double> kConversionEdges = {std::nan(""), INFINITY, -INFINITY, 2147483647.0, 2147483648.0,
                                              -2147483648.5, -2147483649.0, 3e9, -3e9, 9223372036854774784.0,
                                              9223372036854775808.0, -1e19, 1e30, 2.75, -2.75, 0.5, -0.0, 65504.0};

// The rule, written from its statement: truncate, and keep the result if the integer type holds it.
double expected_integer(double x, DType to) {
  if (to == DType::Bool) return x != 0 ? 1.0 : 0.0;
  const double limit = to == DType::Int32 ? 2147483648.0 : 9223372036854775808.0;
  const double truncated = std::trunc(x);
  return truncated >= -limit && truncated < limit ? truncated : -limit;
}

// [24, 18]: the edge values in every row, shifted by one per row so tiles see them in every position.
Tensor conversion_edges(DType dtype) {
  std::vector<double> v;
  for (size_t r = 0; r < 24; ++r)
    for (size_t c = 0; c < kConversionEdges.size(); ++c) v.push_back(kConversionEdges[(r + c) % kConversionEdges.size()]);
  return from_vector(v, {24, static_cast<int64_t>(kConversionEdges.size())}).to(dtype);
}

TEST(TensorConversions, FloatToIntegerOutOfRangeNanAndInfinityGiveTheMinimum) {
  for (DType from : {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16}) {
    const Tensor source = conversion_edges(from);
    for (const Tensor& x : {source, source.t()}) {  // elementwise loop, tiled transpose
      const std::vector<double> held = x.to(DType::Float64).to_vector<double>();
      for (DType to : {DType::Int32, DType::Int64, DType::Bool}) {
        SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to) + (x.is_contiguous() ? "" : ", transposed"));
        const std::vector<double> got = x.to(to).to_vector<double>();
        ASSERT_EQ(got.size(), held.size());
        for (size_t i = 0; i < held.size(); ++i) ASSERT_EQ(got[i], expected_integer(held[i], to)) << "from " << held[i];
      }
    }
  }
}

TEST(TensorConversions, FloatToIntegerOnCudaMatchesTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA conversions run on a GPU machine";
  for (DType from : {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16}) {
    const Tensor source = conversion_edges(from);
    for (const Tensor& x : {source, source.t()}) {
      for (DType to : {DType::Int32, DType::Int64, DType::Bool}) {
        SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + dtype_name(to) + (x.is_contiguous() ? "" : ", transposed"));
        EXPECT_EQ(x.to(kCUDA).to(to).to(kCPU).to_vector<double>(), x.to(to).to_vector<double>());
      }
    }
  }
}

TEST(TensorReadBack, FromVectorToVectorItem) {
  const Tensor a = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(a.dtype(), DType::Float32);
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(a.t().to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(a.select(1, 2).to_vector<int32_t>(), (std::vector<int32_t>{3, 6}));
  const Tensor as_int = from_vector(std::vector<double>{-1.5, 7.0}, {2}, {DType::Int64});
  EXPECT_EQ(as_int.dtype(), DType::Int64);
  EXPECT_EQ(as_int.to_vector<int64_t>(), (std::vector<int64_t>{-1, 7}));
  const Tensor flags = from_vector(std::vector<bool>{true, false, true}, {3});
  EXPECT_EQ(flags.dtype(), DType::Bool);
  EXPECT_EQ(flags.to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(flags.select(0, 1).item<bool>(), false);
  EXPECT_EQ(scalar_tensor(2.5, DType::Float64).item<double>(), 2.5);
  EXPECT_EQ(a.select(0, 1).select(0, 0).item<float>(), 4.0f);
  EXPECT_EQ(from_vector(std::vector<int32_t>{9}, {1, 1}).item<int32_t>(), 9);
  EXPECT_EQ(from_vector(std::vector<float16>{float16(0.5f)}, {}).item<float>(), 0.5f);
  EXPECT_ERROR_CONTAINS(a.item<float>(), "item", "one-element", "float32[2, 3] cpu");
  EXPECT_ERROR_CONTAINS(from_vector(std::vector<float>{1, 2, 3}, {2, 2}), "from_vector", "3 values do not fill shape [2, 2]");
  EXPECT_ERROR_CONTAINS(a.data<double>(), "Tensor::data", "requested float64 but the tensor is float32");
  EXPECT_EQ(zeros({0, 3}).to_vector<float>().size(), 0u);
}

TEST(TensorMetadata, SizesStridesAndNames) {
  const Tensor x = zeros({2, 3}, DType::Float64);
  EXPECT_EQ(x.size(-1), 3);
  EXPECT_EQ(x.stride(0), 3);
  EXPECT_EQ(x.numel(), 6);
  EXPECT_EQ(x.str(), "float64[2, 3] cpu");
  EXPECT_EQ(Tensor().str(), "undefined");
  EXPECT_ERROR_CONTAINS(x.size(2), "Tensor::size", "dim 2 is out of range for a tensor of 2 dimensions");
  EXPECT_ERROR_CONTAINS(Tensor().shape(), "Tensor", "undefined tensor");
  EXPECT_ERROR_CONTAINS(empty({2, -1}), "empty", "negative dimension in shape [2, -1]");
  EXPECT_ERROR_CONTAINS(Shape({1, 1, 1, 1, 1, 1, 1, 1, 1}), "shape", "more than 8 dimensions");
}

TEST(InPlace, CopyFromAnOverlappingSourceReadsItFirst) {
  const Tensor x = iota({3, 3});
  copy_(x, x.t());
  EXPECT_EQ(values(x), (std::vector<float>{0, 3, 6, 1, 4, 7, 2, 5, 8}));
  const Tensor y = iota({10});
  copy_(y.slice(0, 2, 10, 2), y.slice(0, 0, 8, 2));  // y[2::2] = old y[0:8:2]
  EXPECT_EQ(values(y), (std::vector<float>{0, 1, 0, 3, 2, 5, 4, 7, 6, 9}));
  const Tensor z = iota({6});
  copy_(z.slice(0, 1, 6), z.slice(0, 0, 5));
  EXPECT_EQ(values(z), (std::vector<float>{0, 0, 1, 2, 3, 4}));
  const Tensor w = iota({4});
  copy_(w, w);
  EXPECT_EQ(values(w), (std::vector<float>{0, 1, 2, 3}));
}

TEST(InPlace, BinaryUpdateWithAnOverlappingOperandReadsItFirst) {
  const Tensor x = iota({6});
  add_(x.slice(0, 1, 6), x.slice(0, 0, 5));
  EXPECT_EQ(values(x), (std::vector<float>{0, 1, 3, 5, 7, 9}));
  const Tensor m = iota({3, 2});
  sub_(m, m.select(0, 1));  // every row minus the old row 1, which the update itself overwrites
  EXPECT_EQ(values(m), (std::vector<float>{-2, -2, 0, 0, 2, 2}));
  const Tensor s = iota({4});
  mul_(s, s);  // the operand is the destination itself: each element reads itself before writing
  EXPECT_EQ(values(s), (std::vector<float>{0, 1, 4, 9}));
}

TEST(AsStrided, StaysInsideTheStorage) {
  const Tensor base = iota({6});
  const Tensor ok = as_strided(base, {2, 2}, {1, 2}, 1);
  EXPECT_EQ(values(ok), (std::vector<float>{1, 3, 2, 4}));
  EXPECT_EQ(values(as_strided(base, {3}, {-2}, 5)), (std::vector<float>{5, 3, 1}));
  EXPECT_EQ(as_strided(base, {0, 100}, {100, 1}, 6).numel(), 0) << "an empty view reaches nothing";
  EXPECT_ERROR_CONTAINS(as_strided(base, {3, 3}, {3, 1}, 0), "as_strided", "[3, 3]", "[3, 1]",
                        "reaches outside a storage of 6 elements");
  EXPECT_ERROR_CONTAINS(as_strided(base, {2}, {1}, 5), "as_strided", "at offset 5");
  EXPECT_ERROR_CONTAINS(as_strided(base, {2}, {-1}, 0), "as_strided", "outside");
  EXPECT_ERROR_CONTAINS(as_strided(base, {2}, {1, 1}, 0), "as_strided", "differ in rank");
}

}  // namespace
}  // namespace trifecta
