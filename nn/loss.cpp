// Loss functions, composed from trifecta's differentiable ops.
#include "nn/loss.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "autograd/ops.h"

namespace trifecta::nn {

namespace {

void check_pair(const char* loss, const char* first, const Tensor& a, const char* second, const Tensor& b) {
  TRIFECTA_CHECK(a.defined() && b.defined(), loss, "undefined input");
  TRIFECTA_CHECK(is_floating(a.dtype()), loss, first, " needs a floating dtype, got ", a.str());
  TRIFECTA_CHECK(a.shape() == b.shape() && a.dtype() == b.dtype() && a.device() == b.device(), loss, first, " and ",
                 second, " must have one shape, dtype and device, got ", a.str(), " and ", b.str());
}

Tensor reduce(const Tensor& values, LossReduction reduction) {
  switch (reduction) {
    case LossReduction::Mean: return mean(values);
    case LossReduction::Sum: return sum(values);
    case LossReduction::None: return values;
  }
  TRIFECTA_FAIL("loss", "unknown reduction");
}

// Sums each example's dims (every dim but 0); a 1-D tensor already holds one value per example.
Tensor per_example(const Tensor& values) {
  if (values.ndim() <= 1) return values;
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < values.ndim(); ++d) dims.push_back(d);
  return sum(values, dims);
}

void check_examples(const char* loss, const Tensor& t) {
  TRIFECTA_CHECK(t.ndim() >= 1, loss, "needs a batch dim (dim 0 indexes examples), got ", t.str());
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, LossReduction reduction) {
  check_pair("mse_loss", "input", input, "target", target);
  return reduce(square(sub(input, target)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, LossReduction reduction) {
  check_pair("binary_cross_entropy_with_logits", "logits", logits, "target", target);
  // With log sigmoid(x) = -log(1 + e^-x) and log(1 - sigmoid(x)) = -x - log(1 + e^-x), the loss is
  // x - x y + log(1 + e^-x) = log(1 + e^x) - x y, and log(1 + e^x) = max(x, 0) + log1p(e^-|x|): exp never
  // overflows and log1p keeps the small tail. The gradient is sigmoid(x) - y everywhere, x = 0 included:
  // there maximum splits a tie's gradient in halves and |x|'s subgradient is 0, which give the 1/2.
  const Tensor positive_part = maximum(logits, 0.0);
  const Tensor tail = log1p(exp(neg(abs(logits))));
  return reduce(add(sub(positive_part, mul(logits, target)), tail), reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, LossReduction reduction, double label_smoothing,
                     int64_t ignore_index) {
  if (!logits.defined() || logits.ndim() <= 2)
    return trifecta::cross_entropy(logits, targets, label_smoothing, ignore_index, reduction);
  // [N, C, d1..dk]: move classes last and treat every position as a row of the fused op.
  TRIFECTA_CHECK(targets.defined(), "cross_entropy", "undefined targets");
  Shape expected = logits.shape();
  expected.erase(1);
  TRIFECTA_CHECK(targets.shape() == expected, "cross_entropy", "targets of shape ", targets.shape().str(),
                 " do not match logits of shape ", logits.shape().str(), " (expected ", expected.str(), ")");
  std::vector<int64_t> classes_last{0};
  for (int64_t d = 2; d < logits.ndim(); ++d) classes_last.push_back(d);
  classes_last.push_back(1);
  const Tensor rows = logits.permute(classes_last).reshape({-1, logits.size(1)});
  const Tensor loss = trifecta::cross_entropy(rows, targets.reshape({-1}), label_smoothing, ignore_index, reduction);
  return reduction == LossReduction::None ? loss.view(expected) : loss;
}

Tensor gaussian_nll(const Tensor& x, const Tensor& mean, const Tensor& log_gamma, LossReduction reduction) {
  const char* name = "gaussian_nll";
  check_pair(name, "x", x, "mean", mean);
  check_examples(name, x);
  TRIFECTA_CHECK(log_gamma.defined(), name, "undefined log_gamma");
  TRIFECTA_CHECK(log_gamma.dtype() == x.dtype() && log_gamma.device() == x.device(), name, "log_gamma ",
                 log_gamma.str(), " must have x's dtype and device (", x.str(), ")");
  TRIFECTA_CHECK(broadcast_shapes(x.shape(), log_gamma.shape(), name) == x.shape(), name, "log_gamma ",
                 log_gamma.str(), " does not broadcast to x ", x.str());
  // 1 / gamma^2 = exp(-2 log gamma): one exp, and no division by a gamma that may underflow.
  const Tensor inverse_variance = exp(mul(log_gamma, -2.0));
  const Tensor per_dim = add(mul(mul(square(sub(x, mean)), inverse_variance), 0.5), log_gamma);
  const double half_log_two_pi = 0.5 * std::log(2.0 * std::numbers::pi);
  int64_t dims_per_example = 1;
  for (int64_t d = 1; d < x.ndim(); ++d) dims_per_example *= x.size(d);
  return reduce(add(per_example(per_dim), static_cast<double>(dims_per_example) * half_log_two_pi), reduction);
}

Tensor kl_diag_gaussian_standard(const Tensor& mu, const Tensor& logvar, LossReduction reduction) {
  const char* name = "kl_diag_gaussian_standard";
  check_pair(name, "mu", mu, "logvar", logvar);
  check_examples(name, mu);
  const Tensor per_dim = sub(sub(add(square(mu), exp(logvar)), 1.0), logvar);
  return reduce(mul(per_example(per_dim), 0.5), reduction);
}

namespace {

void check_scores(const char* loss, const char* which, const Tensor& scores) {
  TRIFECTA_CHECK(scores.defined(), loss, "undefined ", which);
  TRIFECTA_CHECK(is_floating(scores.dtype()), loss, which, " needs a floating dtype, got ", scores.str());
  TRIFECTA_CHECK(scores.numel() > 0, loss, which, " is empty: the mean needs at least one score");
}

}  // namespace

Tensor hinge_discriminator_loss(const Tensor& real_scores, const Tensor& fake_scores) {
  const char* name = "hinge_discriminator_loss";
  check_scores(name, "real_scores", real_scores);
  check_scores(name, "fake_scores", fake_scores);
  TRIFECTA_CHECK(real_scores.dtype() == fake_scores.dtype() && real_scores.device() == fake_scores.device(), name,
                 "real and fake scores must have one dtype and device, got ", real_scores.str(), " and ",
                 fake_scores.str());
  return add(mean(relu(add(neg(real_scores), 1.0))), mean(relu(add(fake_scores, 1.0))));
}

Tensor hinge_generator_loss(const Tensor& fake_scores) {
  check_scores("hinge_generator_loss", "fake_scores", fake_scores);
  return neg(mean(fake_scores));
}

}  // namespace trifecta::nn
