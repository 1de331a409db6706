// Test specs for layer_norm and batch_norm. The references are the definitions with two-pass means and
// variances in long double (x87's 64-bit significand on x86): with values around 1e4 a double's mean is off
// by ulp(1e4) ~ 2e-12, which the float64 cases would see.
//
// layer_norm: inputs x, then optionally weight and bias; params = {number of normalized dims, eps}. Cases
// cover affine, weight-only and no affine, one and two normalized dims, transposed and strided inputs,
// rows long enough for the CUDA block-per-row path, a single row and normalized size 1.
//
// batch_norm: inputs x, then running_mean and running_var when params[3] is set, then weight and bias when
// params[4] is set; params = {training, momentum, eps, has running statistics, has weight and bias}.
// Running statistics are not differentiable inputs; run() updates copies of them and, when training, returns
// the updated copies after y, so the reference sees the originals and checks the update (more of it in
// tests/unit/batch_norm_running_stats_test.cpp). Cases cover training and eval on [N, C] and [N, C, H, W]
// (both CUDA reduction layouts: trailing size below and above 32), with and without affine parameters and
// running statistics, transposed and strided inputs, and inputs with no element per channel (an empty batch
// or empty maps: y is empty and the running statistics stay, as in PyTorch).
//
// Offset cases add 1e3, 1e4 and 1e6 to N(0, 1) values (float32 and float64 only): the statistics, and y
// itself, must stay accurate to float32 however large the mean against the spread. For batch_norm they use
// momentum 1, so the returned running statistics are the batch's own mean and unbiased variance.
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

// ---- layer_norm ----

InputSpec values(Shape shape, Layout layout = Layout::Contiguous) { return {shape, Domain::Normal, layout}; }

const std::vector<DType> kFullPrecision = {DType::Float32, DType::Float64};

InputSpec offset_by(Shape shape, double offset) {
  InputSpec input = values(std::move(shape));
  input.offset = offset;
  return input;
}

std::string offset_name(double offset) { return offset == 1e3 ? "1e3" : offset == 1e4 ? "1e4" : "1e6"; }

std::vector<OpCase> layer_norm_cases() {
  return {
      {"affine", {values({4, 7}), values({7}), values({7})}, {1, 1e-5}},
      {"no_affine", {values({5, 6})}, {1, 1e-5}},
      {"weight_only", {values({3, 8}), values({8})}, {1, 1e-5}},
      {"two_dims_affine", {values({2, 3, 4}), values({3, 4}), values({3, 4})}, {2, 1e-5}},
      {"all_dims", {values({3, 5})}, {2, 1e-3}},
      {"transposed", {values({6, 5}, Layout::Transposed), values({5}), values({5})}, {1, 1e-5}},
      {"strided", {values({3, 4, 5}, Layout::Strided), values({5}), values({5})}, {1, 1e-5}},
      {"wide_values", {{{4, 9}, Domain::Wide}, values({9}), values({9})}, {1, 1e-5}},
      {"row_300", {values({3, 300}), values({300}), values({300})}, {1, 1e-5}},
      {"row_1300", {values({2, 1300}), values({1300}), values({1300})}, {1, 1e-5}},
      {"row_1027_odd", {values({2, 1027})}, {1, 1e-5}},
      {"one_row", {values({1, 9}), values({9}), values({9})}, {1, 1e-5}},
      // Each row is its own mean: xhat = 0 and the input gradient is 0, up to the float32 rounding of
      // g * w - mean(g * w) amplified by rstd = 1 / sqrt(eps) ~ 316.
      {"normalized_size1", {values({4, 1}), values({1}), values({1})}, {1, 1e-5}, {}, /*gradient_atol=*/1e-4},
      {"offset_1e3", {offset_by({3, 300}, 1e3), values({300}), values({300})}, {1, 1e-5}, kFullPrecision},
      {"offset_1e4", {offset_by({3, 300}, 1e4), values({300}), values({300})}, {1, 1e-5}, kFullPrecision},
      {"offset_1e4_row_1300", {offset_by({2, 1300}, 1e4)}, {1, 1e-5}, kFullPrecision},
      {"offset_1e6", {offset_by({3, 300}, 1e6), values({300}), values({300})}, {1, 1e-5}, kFullPrecision},
      // Rows whose shared-memory cache on CUDA sits at the 48 KB line (softmax_spec.cpp says why).
      {"row_12288_shared_memory", {values({1, 12288})}, {1, 1e-5}},
      {"row_6144_shared_memory", {values({2, 6144}), values({6144}), values({6144})}, {1, 1e-5}},
  };
}

std::vector<Ref> layer_norm_ref(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const int k = static_cast<int>(c.params[0]);
  const double eps = c.params[1];
  int64_t n = 1;
  for (int d = x.shape.size() - k; d < x.shape.size(); ++d) n *= x.shape[d];
  const int64_t rows = x.numel() / n;
  Ref y(x.shape);
  for (int64_t r = 0; r < rows; ++r) {
    long double mean = 0.0;
    for (int64_t j = 0; j < n; ++j) mean += x[r * n + j];
    mean /= n;
    long double var = 0.0;
    for (int64_t j = 0; j < n; ++j) var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
    var /= n;
    for (int64_t j = 0; j < n; ++j) {
      long double v = (x[r * n + j] - mean) / std::sqrt(var + eps);
      if (in.size() > 1) v *= in[1][j];
      if (in.size() > 2) v += in[2][j];
      y[r * n + j] = static_cast<double>(v);
    }
  }
  return {y};
}

const OpSpecRegistrar layer_norm_spec{{
    .op = OpId::layer_norm,
    .cases = layer_norm_cases(),
    .run = [](const TensorList& in, const OpCase& c) {
      const int k = static_cast<int>(c.params[0]);
      Shape normalized;
      for (int d = in[0].ndim() - k; d < in[0].ndim(); ++d) normalized.push_back(in[0].size(d));
      const Tensor weight = in.size() > 1 ? in[1] : Tensor(), bias = in.size() > 2 ? in[2] : Tensor();
      return TensorList{layer_norm(in[0], normalized, weight, bias, c.params[1])};
    },
    .reference = layer_norm_ref,
    .dtypes = kAllFloating,
}};

// ---- batch_norm ----

constexpr double kTrain = 1, kEval = 0;

struct BatchNormInputs {
  int running = -1;  // index of running_mean (running_var follows), -1 if absent
  int affine = -1;   // index of weight (bias follows), -1 if absent
};

BatchNormInputs batch_norm_inputs(const OpCase& c) {
  BatchNormInputs where;
  int next = 1;
  if (c.params[3] != 0) {
    where.running = next;
    next += 2;
  }
  if (c.params[4] != 0) where.affine = next;
  return where;
}

// x of the given shape and layout, followed by the optional inputs for C = shape[1] channels.
OpCase batch_norm_case(std::string name, Shape shape, Layout layout, double mode, bool running, bool affine,
                       double momentum = 0.1, double eps = 1e-5) {
  const Shape channels{shape[1]};
  const std::vector<double> params = {mode, momentum, eps, running ? 1.0 : 0.0, affine ? 1.0 : 0.0};
  OpCase c{std::move(name), {values(shape, layout)}, params};
  if (running) {
    c.inputs.push_back({channels, Domain::Normal, Layout::Contiguous, 0, /*differentiable=*/false});
    c.inputs.push_back({channels, Domain::Positive, Layout::Contiguous, 0, /*differentiable=*/false});
  }
  if (affine) {
    c.inputs.push_back(values(channels));
    c.inputs.push_back(values(channels));
  }
  return c;
}

std::vector<OpCase> batch_norm_cases() {
  return {
      batch_norm_case("train_2d", {6, 4}, Layout::Contiguous, kTrain, true, true),
      // More channels than the CPU kernel's block of 64: a full block and a partial one.
      batch_norm_case("train_2d_two_channel_blocks", {3, 70}, Layout::Contiguous, kTrain, true, true),
      batch_norm_case("train_4d", {3, 4, 3, 5}, Layout::Contiguous, kTrain, true, true),
      batch_norm_case("train_3d_long_maps", {2, 3, 40}, Layout::Contiguous, kTrain, true, true, 0.3),
      batch_norm_case("train_no_affine", {4, 3, 5}, Layout::Contiguous, kTrain, true, false),
      batch_norm_case("train_untracked", {5, 3}, Layout::Contiguous, kTrain, false, true),
      batch_norm_case("train_transposed", {5, 4}, Layout::Transposed, kTrain, true, true),
      batch_norm_case("train_strided", {2, 3, 6}, Layout::Strided, kTrain, true, true),
      batch_norm_case("train_one_channel", {7, 1}, Layout::Contiguous, kTrain, true, true, 0.1, 1e-3),
      batch_norm_case("train_batch1_4d", {1, 2, 3, 3}, Layout::Contiguous, kTrain, false, true),
      batch_norm_case("eval_2d", {5, 3}, Layout::Contiguous, kEval, true, true),
      batch_norm_case("eval_2d_two_channel_blocks", {2, 70}, Layout::Contiguous, kEval, true, true),
      batch_norm_case("eval_4d", {2, 3, 4, 4}, Layout::Contiguous, kEval, true, true),
      batch_norm_case("eval_no_affine", {3, 4, 2}, Layout::Contiguous, kEval, true, false),
      batch_norm_case("eval_transposed", {4, 6}, Layout::Transposed, kEval, true, true),
      batch_norm_case("train_empty_batch", {0, 3}, Layout::Contiguous, kTrain, true, true),
      batch_norm_case("train_empty_maps", {2, 3, 0}, Layout::Contiguous, kTrain, true, true),
      batch_norm_case("eval_empty_batch", {0, 3, 4}, Layout::Contiguous, kEval, true, true),
  };
}

// Both reduction layouts of each device: [N, C] (columns) and [N, C, 40] (planes).
std::vector<OpCase> batch_norm_offset_cases() {
  std::vector<OpCase> cases;
  for (const double offset : {1e3, 1e4, 1e6}) {
    for (const Shape& shape : {Shape{300, 5}, Shape{4, 3, 40}}) {
      OpCase c = batch_norm_case("train_offset_" + offset_name(offset) + (shape.size() == 2 ? "_2d" : "_maps"), shape,
                                 Layout::Contiguous, kTrain, true, true, /*momentum=*/1.0);
      c.inputs[0].offset = offset;
      c.only_dtypes = kFullPrecision;
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

std::vector<Ref> batch_norm_ref(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const BatchNormInputs where = batch_norm_inputs(c);
  const bool training = c.params[0] != 0, tracking = where.running >= 0;
  const double momentum = c.params[1], eps = c.params[2];
  const int64_t batch = x.shape[0], channels = x.shape[1];
  int64_t spatial = 1;
  for (int d = 2; d < x.shape.size(); ++d) spatial *= x.shape[d];
  const int64_t count = batch * spatial;
  const auto at = [&](int64_t n, int64_t ch, int64_t s) { return (n * channels + ch) * spatial + s; };
  Ref y(x.shape);
  Ref running_mean = tracking ? in[where.running] : Ref(), running_var = tracking ? in[where.running + 1] : Ref();
  for (int64_t ch = 0; ch < channels; ++ch) {
    if (count == 0) continue;  // nothing to normalize, no statistics to take
    long double mean, var;
    if (training) {
      mean = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t s = 0; s < spatial; ++s) mean += x[at(n, ch, s)];
      mean /= count;
      var = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t s = 0; s < spatial; ++s) var += (x[at(n, ch, s)] - mean) * (x[at(n, ch, s)] - mean);
      if (tracking) {
        running_mean[ch] = static_cast<double>((1 - momentum) * running_mean[ch] + momentum * mean);
        running_var[ch] = static_cast<double>((1 - momentum) * running_var[ch] + momentum * var / (count - 1));
      }
      var /= count;
    } else {
      mean = in[where.running][ch];
      var = in[where.running + 1][ch];
    }
    const double w = where.affine >= 0 ? in[where.affine][ch] : 1.0;
    const double b = where.affine >= 0 ? in[where.affine + 1][ch] : 0.0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s)
        y[at(n, ch, s)] = static_cast<double>((x[at(n, ch, s)] - mean) / std::sqrt(var + eps) * w + b);
  }
  if (training && tracking) return {y, running_mean, running_var};
  return {y};
}

const OpSpecRegistrar batch_norm_spec{{
    .op = OpId::batch_norm,
    .cases = [] {
      std::vector<OpCase> cases = batch_norm_cases(), offsets = batch_norm_offset_cases();
      cases.insert(cases.end(), offsets.begin(), offsets.end());
      return cases;
    }(),
    .run = [](const TensorList& in, const OpCase& c) {
      const BatchNormInputs where = batch_norm_inputs(c);
      const Tensor running_mean = where.running >= 0 ? in[where.running].clone() : Tensor();
      const Tensor running_var = where.running >= 0 ? in[where.running + 1].clone() : Tensor();
      const Tensor weight = where.affine >= 0 ? in[where.affine] : Tensor();
      const Tensor bias = where.affine >= 0 ? in[where.affine + 1] : Tensor();
      const bool training = c.params[0] != 0;
      const Tensor y = batch_norm(in[0], running_mean, running_var, weight, bias, training, c.params[1], c.params[2]);
      if (training && where.running >= 0) return TensorList{y, running_mean, running_var};
      return TensorList{y};
    },
    .reference = batch_norm_ref,
    .dtypes = kAllFloating,
}};

}  // namespace
}  // namespace trifecta::testing
