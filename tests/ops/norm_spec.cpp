// Test specs for layer_norm and batch_norm. The references are the definitions in double, with two-pass
// means and variances.
//
// layer_norm: inputs x, then optionally weight and bias; params = {number of normalized dims, eps}. Cases
// cover affine, weight-only and no affine, one and two normalized dims, transposed and strided inputs,
// rows long enough for the CUDA block-per-row path, a single row and normalized size 1.
//
// batch_norm: inputs x, then running_mean and running_var when params[3] is set, then weight and bias when
// params[4] is set; params = {training, momentum, eps, has running statistics, has weight and bias}.
// Running statistics are not differentiable inputs, and run() updates copies of them so the reference sees
// the originals (their update is checked in tests/unit/batch_norm_running_stats_test.cpp). Cases cover
// training and eval on [N, C] and [N, C, H, W] (both CUDA reduction layouts: trailing size below and above
// 32), with and without affine parameters and running statistics, and transposed and strided inputs.
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

// ---- layer_norm ----

InputSpec values(Shape shape, Layout layout = Layout::Contiguous) { return {shape, Domain::Normal, layout}; }

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
      {"normalized_size1", {values({4, 1}), values({1}), values({1})}, {1, 1e-5}},
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
    double mean = 0.0;
    for (int64_t j = 0; j < n; ++j) mean += x[r * n + j];
    mean /= static_cast<double>(n);
    double var = 0.0;
    for (int64_t j = 0; j < n; ++j) var += (x[r * n + j] - mean) * (x[r * n + j] - mean);
    var /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j) {
      double v = (x[r * n + j] - mean) / std::sqrt(var + eps);
      if (in.size() > 1) v *= in[1][j];
      if (in.size() > 2) v += in[2][j];
      y[r * n + j] = v;
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
  OpCase c{std::move(name), {{shape, Domain::Normal, layout}}, params};
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
      batch_norm_case("train_4d", {3, 4, 3, 5}, Layout::Contiguous, kTrain, true, true),
      batch_norm_case("train_3d_long_maps", {2, 3, 40}, Layout::Contiguous, kTrain, true, true, 0.3),
      batch_norm_case("train_no_affine", {4, 3, 5}, Layout::Contiguous, kTrain, true, false),
      batch_norm_case("train_untracked", {5, 3}, Layout::Contiguous, kTrain, false, true),
      batch_norm_case("train_transposed", {5, 4}, Layout::Transposed, kTrain, true, true),
      batch_norm_case("train_strided", {2, 3, 6}, Layout::Strided, kTrain, true, true),
      batch_norm_case("train_one_channel", {7, 1}, Layout::Contiguous, kTrain, true, true, 0.1, 1e-3),
      batch_norm_case("train_batch1_4d", {1, 2, 3, 3}, Layout::Contiguous, kTrain, false, true),
      batch_norm_case("eval_2d", {5, 3}, Layout::Contiguous, kEval, true, true),
      batch_norm_case("eval_4d", {2, 3, 4, 4}, Layout::Contiguous, kEval, true, true),
      batch_norm_case("eval_no_affine", {3, 4, 2}, Layout::Contiguous, kEval, true, false),
      batch_norm_case("eval_transposed", {4, 6}, Layout::Transposed, kEval, true, true),
  };
}

std::vector<Ref> batch_norm_ref(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const BatchNormInputs where = batch_norm_inputs(c);
  const bool training = c.params[0] != 0;
  const double eps = c.params[2];
  const int64_t batch = x.shape[0], channels = x.shape[1], spatial = x.numel() / (batch * channels);
  const auto at = [&](int64_t n, int64_t ch, int64_t s) { return (n * channels + ch) * spatial + s; };
  Ref y(x.shape);
  for (int64_t ch = 0; ch < channels; ++ch) {
    double mean, var;
    if (training) {
      mean = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t s = 0; s < spatial; ++s) mean += x[at(n, ch, s)];
      mean /= static_cast<double>(batch * spatial);
      var = 0.0;
      for (int64_t n = 0; n < batch; ++n)
        for (int64_t s = 0; s < spatial; ++s) var += (x[at(n, ch, s)] - mean) * (x[at(n, ch, s)] - mean);
      var /= static_cast<double>(batch * spatial);
    } else {
      mean = in[where.running][ch];
      var = in[where.running + 1][ch];
    }
    const double w = where.affine >= 0 ? in[where.affine][ch] : 1.0;
    const double b = where.affine >= 0 ? in[where.affine + 1][ch] : 0.0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) y[at(n, ch, s)] = (x[at(n, ch, s)] - mean) / std::sqrt(var + eps) * w + b;
  }
  return {y};
}

const OpSpecRegistrar batch_norm_spec{{
    .op = OpId::batch_norm,
    .cases = batch_norm_cases(),
    .run = [](const TensorList& in, const OpCase& c) {
      const BatchNormInputs where = batch_norm_inputs(c);
      const Tensor running_mean = where.running >= 0 ? in[where.running].clone() : Tensor();
      const Tensor running_var = where.running >= 0 ? in[where.running + 1].clone() : Tensor();
      const Tensor weight = where.affine >= 0 ? in[where.affine] : Tensor();
      const Tensor bias = where.affine >= 0 ? in[where.affine + 1] : Tensor();
      return TensorList{batch_norm(in[0], running_mean, running_var, weight, bias, c.params[0] != 0, c.params[1],
                                   c.params[2])};
    },
    .reference = batch_norm_ref,
    .dtypes = kAllFloating,
}};

}  // namespace
}  // namespace trifecta::testing
