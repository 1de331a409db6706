// Test spec for cross_entropy: each reduction, label smoothing on and off, ignore_index present (set to a
// class that the drawn targets hit) and absent, every target ignored, transposed and strided logits, one
// class, one sample, an unbatched sample, and rows long enough for the CUDA block-per-row path.
// params = {label_smoothing, ignore_index, reduction (0 mean, 1 sum, 2 none)}. The reference is the
// definition in double: -log p from a two-pass log-sum-exp.
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

constexpr double kMean = 0, kSum = 1, kNone = 2;

LossReduction reduction_of(double code) {
  return code == kMean ? LossReduction::Mean : code == kSum ? LossReduction::Sum : LossReduction::None;
}

InputSpec logits(Shape shape, Layout layout = Layout::Contiguous) { return {shape, Domain::Normal, layout}; }
InputSpec targets(Shape shape, int64_t classes) { return {shape, Domain::Index, Layout::Contiguous, classes}; }

std::vector<OpCase> cross_entropy_cases() {
  return {
      {"mean", {logits({7, 5}), targets({7}, 5)}, {0.0, -100, kMean}},
      {"sum", {logits({6, 4}), targets({6}, 4)}, {0.0, -100, kSum}},
      {"none", {logits({5, 6}), targets({5}, 6)}, {0.0, -100, kNone}},
      {"mean_ignore", {logits({9, 3}), targets({9}, 3)}, {0.0, 1, kMean}},
      {"sum_ignore", {logits({8, 3}), targets({8}, 3)}, {0.0, 2, kSum}},
      {"none_ignore", {logits({8, 4}), targets({8}, 4)}, {0.0, 0, kNone}},
      {"mean_smoothing", {logits({7, 5}), targets({7}, 5)}, {0.1, -100, kMean}},
      {"sum_smoothing_ignore", {logits({9, 3}), targets({9}, 3)}, {0.25, 1, kSum}},
      {"none_smoothing_ignore", {logits({8, 4}), targets({8}, 4)}, {0.3, 3, kNone}},
      {"mean_smoothing_ignore", {logits({10, 3}), targets({10}, 3)}, {0.2, 0, kMean}},
      {"full_smoothing", {logits({4, 5}), targets({4}, 5)}, {1.0, -100, kMean}},
      {"all_ignored_sum", {logits({4, 3}), targets({4}, 1)}, {0.1, 0, kSum}},
      {"transposed_logits", {logits({6, 5}, Layout::Transposed), targets({6}, 5)}, {0.1, 2, kMean}},
      {"strided_logits", {logits({5, 7}, Layout::Strided), targets({5}, 7)}, {0.0, 5, kNone}},
      // The gradient, softmax - smoothed one-hot = 1 - (0.9 + 0.1 / 1), is 0 up to float32 rounding.
      {"one_class", {logits({4, 1}), targets({4}, 1)}, {0.1, -100, kMean}, {}, /*gradient_atol=*/1e-6},
      {"one_sample", {logits({1, 6}), targets({1}, 6)}, {0.0, -100, kMean}},
      {"unbatched", {logits({6}), targets({}, 6)}, {0.1, -100, kMean}},
      {"unbatched_none", {logits({5}), targets({}, 5)}, {0.0, -100, kNone}},
      {"classes_1100", {logits({3, 1100}), targets({3}, 1100)}, {0.1, -100, kMean}},
      {"classes_1031_odd", {logits({2, 1031}), targets({2}, 1031)}, {0.0, -100, kNone}},
  };
}

std::vector<Ref> cross_entropy_ref(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const Ref& t = in[1];
  const double eps = c.params[0], reduction = c.params[2];
  const auto ignore = static_cast<int64_t>(c.params[1]);
  const int64_t classes = x.shape[x.shape.size() - 1], rows = x.numel() / classes;
  Ref losses(t.shape);
  int64_t counted = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const auto target = static_cast<int64_t>(t[r]);
    if (target == ignore) continue;
    ++counted;
    double m = -INFINITY;
    for (int64_t k = 0; k < classes; ++k) m = std::max(m, x[r * classes + k]);
    double sum = 0.0;
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(x[r * classes + k] - m);
    const double lse = m + std::log(sum);
    double uniform = 0.0;
    for (int64_t k = 0; k < classes; ++k) uniform += lse - x[r * classes + k];
    losses[r] = (1.0 - eps) * (lse - x[r * classes + target]) + eps / static_cast<double>(classes) * uniform;
  }
  if (reduction == kNone) return {losses};
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) total += losses[r];
  Ref out(Shape{});
  out[0] = reduction == kSum ? total : total / static_cast<double>(counted);
  return {out};
}

const OpSpecRegistrar cross_entropy_spec{{
    .op = OpId::cross_entropy,
    .cases = cross_entropy_cases(),
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{cross_entropy(in[0], in[1], c.params[0], static_cast<int64_t>(c.params[1]),
                                      reduction_of(c.params[2]))};
    },
    .reference = cross_entropy_ref,
    .dtypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16},
}};

}  // namespace
}  // namespace trifecta::testing
