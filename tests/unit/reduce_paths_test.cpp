// Large CPU reductions, sized to take each loop of kernels/reduce/reduce_cpu.cpp:
//   full reduction of 10^6 elements   one output, many elements: split across threads, partials merged in order
//   column sums of [10003, 33]        column layout: 33 neighbouring outputs walk the rows together, in
//                                     blocks of 100 rows taken 4 at a time (the last block: 3 rows, 1 by 1)
//   row sums of [33, 10^4]            row layout: each output folds a contiguous row in 64 lanes
// against float64 sums of the same float32 values. Tolerances are relative to sum |x_i|, the scale of the
// rounding errors in any summation order (float32: eps = 6e-8). The row loop and the thread split keep 64
// accumulators per thread, each seeing at most n/64 terms, and land near 1e-7 of sum |x| here: they are held
// to 1e-6, which a single running float32 total (about 2e-5 on the million values around 3) would fail. The
// column loop folds blocks of about sqrt(n) rows into fresh states before adding them to each column's
// running total, so its error grows like 2 sqrt(n) eps instead of n eps (about 3e-7 for 10^4 rows, where
// one running total per column reached 3e-6): held to 1e-6 as well.
// NaN and infinities are planted in rows read through each layout (and on CUDA when a GPU is present), to
// check that every loop propagates them the same way.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "kernels/common/parallel.h"

namespace trifecta {
namespace {

constexpr int64_t kMillion = 1000000;
constexpr double kLanesTolerance = 1e-6;   // relative to sum |x|: rows and thread splits
constexpr double kColumnTolerance = 1e-6;  // relative to sum |x|: blocked column sums

// Four threads whatever the machine, so a one-output reduction (fewer outputs than threads) is split.
class ReducePaths : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_threads_ = get_num_threads();
    set_num_threads(4);
  }
  void TearDown() override { set_num_threads(previous_threads_); }

 private:
  int previous_threads_ = 1;
};

// float32 draws and their values as doubles (what a float64 reference must sum).
struct Data {
  Tensor tensor;
  std::vector<double> values;
};

Data normal_data(const Shape& shape, double mean, uint64_t seed) {
  Generator g(seed);
  Data d;
  d.tensor = normal(shape, mean, 1.0, DType::Float32, &g);
  d.values = d.tensor.to_vector<double>();
  return d;
}

double abs_sum(const std::vector<double>& v, int64_t begin, int64_t end, int64_t stride) {
  double s = 0;
  for (int64_t i = begin; i < end; i += stride) s += std::fabs(v[i]);
  return s;
}

TEST_F(ReducePaths, FullSumOfAMillionFloat32) {
  for (double center : {0.0, 3.0}) {  // with cancellation, and without
    const Data d = normal_data({kMillion}, center, 11);
    double expected = 0;
    for (double v : d.values) expected += v;
    const double tolerance = kLanesTolerance * abs_sum(d.values, 0, kMillion, 1);
    const double got = sum(d.tensor).item<double>();
    EXPECT_NEAR(got, expected, tolerance) << "values around " << center;
    EXPECT_NEAR(mean(d.tensor).item<double>(), expected / kMillion, tolerance / kMillion) << "values around " << center;
    // The per-thread partials are merged in a fixed order: the result does not change run to run.
    EXPECT_EQ(sum(d.tensor).item<float>(), static_cast<float>(got));
  }
}

TEST_F(ReducePaths, ColumnSumsOfATallMatrix) {
  constexpr int64_t rows = 10003, cols = 33;
  const Data d = normal_data({rows, cols}, 1.0, 12);
  const std::vector<float> got = sum(d.tensor, {0}).to_vector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    double expected = 0;
    for (int64_t r = 0; r < rows; ++r) expected += d.values[r * cols + c];
    EXPECT_NEAR(got[c], expected, kColumnTolerance * abs_sum(d.values, c, rows * cols, cols)) << "column " << c;
  }
}

TEST_F(ReducePaths, RowSumsOfAWideMatrix) {
  constexpr int64_t rows = 33, cols = 10000;
  const Data d = normal_data({rows, cols}, 1.0, 13);
  const std::vector<float> got = sum(d.tensor, {1}).to_vector<float>();
  ASSERT_EQ(got.size(), static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double expected = 0;
    for (int64_t c = 0; c < cols; ++c) expected += d.values[r * cols + c];
    EXPECT_NEAR(got[r], expected, kLanesTolerance * abs_sum(d.values, r * cols, (r + 1) * cols, 1)) << "row " << r;
  }
  // The same rows read through a transpose take the column loop and agree.
  const std::vector<float> via_columns = sum(d.tensor.t(), {0}).to_vector<float>();
  for (int64_t r = 0; r < rows; ++r) EXPECT_NEAR(via_columns[r], got[r], kColumnTolerance * abs_sum(d.values, r * cols, (r + 1) * cols, 1));
}

TEST_F(ReducePaths, SplitReductionsMergeStatefulReducersCorrectly) {
  // The thread split merges partial states with each reducer's combine: check the ones with more state
  // than a running sum.
  const Data d = normal_data({kMillion}, 1000.0, 14);
  double expected_mean = 0;
  for (double v : d.values) expected_mean += v;
  expected_mean /= kMillion;
  double m2 = 0, max_value = -1e300;
  for (double v : d.values) {
    m2 += (v - expected_mean) * (v - expected_mean);
    max_value = std::max(max_value, v);
  }
  // Sums of x - K and (x - K)^2 about the first element K keep the variance accurate to float32 although
  // every value is near 1000 (a naive E[x^2] - E[x]^2 in float32 would lose every significant bit, and
  // Welford's running mean, rounded to float32 at each step, about 3 digits).
  EXPECT_NEAR(var(d.tensor).item<double>(), m2 / (kMillion - 1), 2e-6);
  EXPECT_NEAR(var(d.tensor, {}, 0.0).item<double>(), m2 / kMillion, 2e-6);
  EXPECT_EQ(amax(d.tensor).item<double>(), max_value);
  double lse = 0;
  for (double v : d.values) lse += std::exp(v - max_value);
  EXPECT_NEAR(logsumexp(d.tensor).item<double>(), max_value + std::log(lse), 1e-4);

  // argmax over a million: two equal maxima in different threads' ranges; the first must win, and NaN
  // beats everything.
  std::vector<float> spikes(kMillion, 0.0f);
  spikes[300001] = 5.0f;
  spikes[900000] = 5.0f;
  spikes[123] = -1.0f;
  const Tensor t = from_vector(spikes, {kMillion});
  EXPECT_EQ(argmax(t).item<int64_t>(), 300001);
  EXPECT_EQ(argmin(t).item<int64_t>(), 123);
  EXPECT_EQ(amax(t).item<float>(), 5.0f);
  spikes[700000] = std::numeric_limits<float>::quiet_NaN();
  spikes[800000] = std::numeric_limits<float>::quiet_NaN();
  const Tensor with_nan = from_vector(spikes, {kMillion});
  EXPECT_EQ(argmax(with_nan).item<int64_t>(), 700000);
  EXPECT_TRUE(std::isnan(amax(with_nan).item<float>()));
  EXPECT_TRUE(std::isnan(sum(with_nan).item<float>()));
  EXPECT_EQ(count_nonfinite(with_nan), 2);
}

TEST_F(ReducePaths, ColumnArgmaxAndMeanOfATallMatrix) {
  constexpr int64_t rows = 10000, cols = 33;
  const Data d = normal_data({rows, cols}, 0.0, 15);
  const std::vector<int64_t> got = argmax(d.tensor, 0).to_vector<int64_t>();
  const std::vector<float> means = mean(d.tensor, {0}, true).to_vector<float>();
  ASSERT_EQ(mean(d.tensor, {0}, true).shape(), (Shape{1, cols}));
  for (int64_t c = 0; c < cols; ++c) {
    int64_t best = 0;
    double s = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (d.values[r * cols + c] > d.values[best * cols + c]) best = r;
      s += d.values[r * cols + c];
    }
    EXPECT_EQ(got[c], best) << "column " << c;
    EXPECT_NEAR(means[c], s / rows, kColumnTolerance * abs_sum(d.values, c, rows * cols, cols) / rows) << "column " << c;
  }
}

// Rows of n float32 values with special values planted: row 0 holds a NaN, row 1 a +inf, row 2 a -inf,
// row 3 both infinities (and row 4 nothing special). NaN wins every reduction, argmin included; +inf and
// -inf follow IEEE arithmetic (inf - inf is NaN, so var of any non-finite row is NaN).
struct Planted {
  Tensor rows;  // [5, n]
  std::vector<double> values;
  int64_t n;
  int64_t nan_at = 0, pos_inf_at = 0, neg_inf_at = 0;
};

Planted planted(int64_t n, uint64_t seed) {
  Planted p;
  p.n = n;
  Generator g(seed);
  p.values = randn({5, n}, DType::Float32, &g).to_vector<double>();
  p.nan_at = n * 2 / 3, p.pos_inf_at = n / 2 + 1, p.neg_inf_at = n / 3;
  p.values[p.nan_at] = std::numeric_limits<double>::quiet_NaN();
  p.values[n + p.pos_inf_at] = std::numeric_limits<double>::infinity();
  p.values[2 * n + p.neg_inf_at] = -std::numeric_limits<double>::infinity();
  p.values[3 * n + p.pos_inf_at] = std::numeric_limits<double>::infinity();
  p.values[3 * n + p.neg_inf_at] = -std::numeric_limits<double>::infinity();
  p.rows = from_vector(p.values, {5, n}, {DType::Float32});
  return p;
}

// Checks every reduction of each row of x (a [5, n] tensor, any layout, any device) against the planted rows.
void expect_planted_results(const Planted& p, const Tensor& x, const std::string& where) {
  SCOPED_TRACE(where);
  const double inf = std::numeric_limits<double>::infinity();
  const auto row = [&](const Tensor& t) { return t.to_vector<double>(); };
  const std::vector<double> sums = row(sum(x, {1})), means = row(mean(x, {1})), maxima = row(amax(x, {1})),
                            minima = row(amin(x, {1})), lses = row(logsumexp(x, {1})), vars = row(var(x, {1}));
  const std::vector<int64_t> argmaxes = argmax(x, 1).to_vector<int64_t>(), argmins = argmin(x, 1).to_vector<int64_t>();
  // Row 0: NaN everywhere, and both arg reductions point at it.
  for (const std::vector<double>* r : {&sums, &means, &maxima, &minima, &lses, &vars}) EXPECT_TRUE(std::isnan((*r)[0]));
  EXPECT_EQ(argmaxes[0], p.nan_at);
  EXPECT_EQ(argmins[0], p.nan_at);
  // Rows 1 and 2: one infinity.
  EXPECT_EQ(sums[1], inf);
  EXPECT_EQ(means[1], inf);
  EXPECT_EQ(maxima[1], inf);
  EXPECT_EQ(lses[1], inf);
  EXPECT_TRUE(std::isnan(vars[1]));
  EXPECT_EQ(argmaxes[1], p.pos_inf_at);
  EXPECT_EQ(sums[2], -inf);
  EXPECT_EQ(minima[2], -inf);
  EXPECT_TRUE(std::isfinite(lses[2])) << "exp(-inf) contributes 0";
  EXPECT_TRUE(std::isnan(vars[2]));
  EXPECT_EQ(argmins[2], p.neg_inf_at);
  // Row 3: inf + (-inf) is NaN for the sum; the extrema are the infinities themselves.
  EXPECT_TRUE(std::isnan(sums[3]));
  EXPECT_EQ(maxima[3], inf);
  EXPECT_EQ(minima[3], -inf);
  EXPECT_EQ(lses[3], inf);
  EXPECT_EQ(argmaxes[3], p.pos_inf_at);
  EXPECT_EQ(argmins[3], p.neg_inf_at);
  // Row 2's finite part and row 4 against float64.
  for (int64_t r : {2, 4}) {
    double m = -inf, s = 0;
    for (int64_t i = 0; i < p.n; ++i) m = std::max(m, p.values[r * p.n + i]);
    for (int64_t i = 0; i < p.n; ++i) s += std::exp(p.values[r * p.n + i] - m);
    EXPECT_NEAR(lses[r], m + std::log(s), 1e-4) << "row " << r;
  }
  EXPECT_TRUE(std::isfinite(sums[4]) && std::isfinite(vars[4]));
}

TEST_F(ReducePaths, NanAndInfinityPropagateOnEveryPath) {
  const Planted p = planted(5000, 17);
  expect_planted_results(p, p.rows, "rows");
  expect_planted_results(p, p.rows.t().contiguous().t(), "columns");   // reduced dim strided, kept dim dense
  // Every other column of a twice-as-wide buffer: neither the reduced nor the kept dim is dense.
  const Tensor wide = zeros({5, 2 * p.n});
  const Tensor every_other = wide.slice(1, 0, 2 * p.n, 2);
  copy_(every_other, p.rows);
  expect_planted_results(p, every_other, "general");
  if (cuda_available()) {
    const Tensor on_gpu = p.rows.to(kCUDA);
    expect_planted_results(p, on_gpu, "cuda rows");
    expect_planted_results(p, on_gpu.t().contiguous().t(), "cuda columns");
  }
  // One long row: the thread split.
  const Planted long_rows = planted(kMillion / 5, 18);
  for (int64_t r = 0; r < 5; ++r) {
    const Tensor one_row = long_rows.rows.select(0, r);
    EXPECT_EQ(std::isnan(sum(one_row).item<double>()), r == 0 || r == 3) << "row " << r;
    EXPECT_EQ(std::isnan(amax(one_row).item<double>()), r == 0) << "row " << r;
  }
  EXPECT_EQ(argmin(long_rows.rows.select(0, 0)).item<int64_t>(), long_rows.nan_at);
  EXPECT_EQ(amin(long_rows.rows.select(0, 3)).item<double>(), -std::numeric_limits<double>::infinity());
}

TEST_F(ReducePaths, ThreadCountChangesOnlyRounding) {
  const Data d = normal_data({kMillion}, 0.5, 16);
  const double four = sum(d.tensor).item<double>();
  set_num_threads(1);
  const double one = sum(d.tensor).item<double>();
  set_num_threads(3);
  const double three = sum(d.tensor).item<double>();
  // One thread folds the million values in 64 accumulators of 15625 terms each: more rounding than the split.
  const double scale = kColumnTolerance * abs_sum(d.values, 0, kMillion, 1);
  EXPECT_NEAR(one, four, scale);
  EXPECT_NEAR(three, four, scale);
}

}  // namespace
}  // namespace trifecta
