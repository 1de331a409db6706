// Comparison and gradcheck implementations.
#include "tests/harness/gradcheck.h"

#include <cmath>
#include <sstream>

namespace trifecta::testing {

namespace {

::testing::AssertionResult compare_values(const std::vector<double>& actual, const std::vector<double>& expected,
                                          const Shape& shape, Tolerance tol, const std::string& what) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << what << ": " << actual.size() << " elements vs " << expected.size();
  int64_t failures = 0, first = -1;
  double worst = 0.0, largest = 0.0;
  for (double e : expected)
    if (std::isfinite(e)) largest = std::max(largest, std::fabs(e));
  const double floor = tol.atol + tol.max_rel * largest;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    bool ok;
    if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
    else if (std::isinf(e) || std::isinf(a)) ok = a == e;
    else ok = std::fabs(a - e) <= floor + tol.rtol * std::fabs(e);
    if (!ok) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++failures;
      if (std::isfinite(a) && std::isfinite(e)) worst = std::max(worst, std::fabs(a - e));
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " of shape " << shape.str() << ": " << failures << " of "
                                       << actual.size() << " elements differ (rtol " << tol.rtol << ", atol "
                                       << tol.atol << ", relative to the largest " << tol.max_rel
                                       << "); first at flat index " << first << ": got "
                                       << actual[first] << ", expected " << expected[first]
                                       << "; largest difference " << worst;
}

}  // namespace

::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, Tolerance tol,
                                         const std::string& what) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape().str() << " vs "
                                         << expected.shape().str();
  return compare_values(actual.to_vector<double>(), expected.to_vector<double>(), actual.shape(), tol, what);
}

::testing::AssertionResult tensor_matches_ref(const Tensor& actual, const Ref& expected, Tolerance tol,
                                              const std::string& what) {
  if (actual.shape() != expected.shape)
    return ::testing::AssertionFailure() << what << ": shape " << actual.shape().str() << " vs reference "
                                         << expected.shape.str();
  return compare_values(actual.to_vector<double>(), expected.v, actual.shape(), tol, what);
}

::testing::AssertionResult gradients_match_float64(const OpSpec& spec, const OpCase& c, DType dtype, Device device,
                                                  uint64_t seed) {
  const std::string where =
      std::string(op_name(spec.op)) + "/" + c.name + " in " + dtype_name(dtype) + " on " + device.str();
  const CaseInputs low = make_inputs(c, dtype, device, seed, /*requires_grad=*/true);
  // The same values in float64: the inputs as rounded to dtype, widened exactly.
  CaseInputs wide;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& base = low.bases[i];
    Tensor widened = is_floating(base.dtype()) ? base.detach().to(DType::Float64) : base;
    if (base.requires_grad()) widened.requires_grad_();
    wide.bases.push_back(widened);
    wide.views.push_back(apply_layout(widened, c.inputs[i]));
  }
  const TensorList low_outputs = spec.run(low.views, c), wide_outputs = spec.run(wide.views, c);
  if (low_outputs.size() != wide_outputs.size())
    return ::testing::AssertionFailure() << where << ": the op returns different numbers of outputs in float64";

  // L = sum_k <out_k, w_k> with weights representable in dtype, so both runs start from the same gradient.
  Generator weight_generator(seed ^ 0xC3C3C3C3ull);
  Tensor low_loss, wide_loss;
  for (size_t k = 0; k < low_outputs.size(); ++k) {
    if (!low_outputs[k].requires_grad()) continue;
    const Tensor w = randn(low_outputs[k].shape(), DType::Float64, &weight_generator).to(low_outputs[k].dtype());
    const Tensor low_term = sum(mul(low_outputs[k], w.to(device)));
    const Tensor wide_term = sum(mul(wide_outputs[k], w.to(DType::Float64).to(device)));
    low_loss = low_loss.defined() ? add(low_loss, low_term) : low_term;
    wide_loss = wide_loss.defined() ? add(wide_loss, wide_term) : wide_term;
  }
  if (!low_loss.defined() || !low_loss.requires_grad())
    return ::testing::AssertionFailure() << where << ": the op produced no output that carries a gradient";
  low_loss.backward();
  wide_loss.backward();

  std::ostringstream errors;
  for (size_t i = 0; i < low.bases.size(); ++i) {
    if (!low.bases[i].requires_grad()) continue;
    const Tensor expected = wide.bases[i].grad().defined() ? wide.bases[i].grad() : zeros_like(wide.bases[i]);
    const Tensor actual = low.bases[i].grad().defined() ? low.bases[i].grad() : zeros_like(low.bases[i]);
    Tolerance tolerance = gradient_tolerance(dtype);
    tolerance.atol = c.gradient_atol;
    const std::string what = where + ": gradient of input " + std::to_string(i);
    const ::testing::AssertionResult close = tensors_close(actual.to(kCPU), expected.to(kCPU), tolerance, what);
    if (!close) errors << "\n  " << close.message();
  }
  if (errors.str().empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << errors.str();
}

uint64_t case_seed(const OpSpec& spec, size_t case_index) {
  // FNV-1a over the op name, mixed with the case index.
  uint64_t h = 1469598103934665603ull;
  for (const char* p = op_name(spec.op); *p; ++p) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  return h ^ (case_index * 0x9E3779B97F4A7C15ull);
}

::testing::AssertionResult gradcheck(const OpSpec& spec, const OpCase& c, Device device, uint64_t seed) {
  const std::string where = std::string(op_name(spec.op)) + "/" + c.name + " on " + device.str();
  CaseInputs in = make_inputs(c, DType::Float64, device, seed, /*requires_grad=*/true);
  const TensorList outputs = spec.run(in.views, c);

  Generator weight_generator(seed ^ 0xA5A5A5A5ull);
  TensorList weights;
  Tensor loss;
  for (const Tensor& out : outputs) {
    if (!out.requires_grad()) {  // indices, or values autograd does not track (batch_norm's running statistics)
      weights.emplace_back();
      continue;
    }
    Tensor w = randn(out.shape(), DType::Float64, &weight_generator).to(device);
    weights.push_back(w);
    const Tensor term = sum(mul(out, w));
    loss = loss.defined() ? add(loss, term) : term;
  }
  if (!loss.defined() || !loss.requires_grad())
    return ::testing::AssertionFailure() << where << ": the op produced no output that carries a gradient";
  loss.backward();

  // L at a point given as host copies of the bases.
  const auto evaluate = [&](const std::vector<std::vector<double>>& values) {
    NoGradGuard no_grad;
    TensorList views;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const Tensor& base = in.bases[i];
      const Tensor rebuilt = from_vector(values[i], base.shape(), {DType::Float64}).to(base.dtype()).to(device);
      views.push_back(apply_layout(rebuilt, c.inputs[i]));
    }
    const TensorList outs = spec.run(views, c);
    double total = 0.0;
    for (size_t k = 0; k < outs.size(); ++k)
      if (weights[k].defined()) total += sum(mul(outs[k], weights[k])).item<double>();
    return total;
  };

  std::vector<std::vector<double>> point;
  for (const Tensor& base : in.bases) point.push_back(base.to_vector<double>());
  const double center = evaluate(point);

  std::ostringstream errors;
  int failures = 0;
  for (size_t i = 0; i < in.bases.size(); ++i) {
    const Tensor& base = in.bases[i];
    if (!base.requires_grad()) continue;
    const Tensor grad = base.grad();
    const std::vector<double> analytic = grad.defined() ? grad.to_vector<double>() : std::vector<double>(base.numel(), 0.0);
    const int64_t n = base.numel();
    const int64_t probes = std::min<int64_t>(n, 48);
    int checked = 0, kinks = 0;
    for (int64_t k = 0; k < probes; ++k) {
      const int64_t j = n <= 48 ? k : (k * n) / probes + (k * 7) % std::max<int64_t>(1, n / probes);
      const double original = point[i][j];
      const double step = kGradcheckStep * std::max(1.0, std::fabs(original - c.inputs[i].offset));
      // The steps actually taken: original +- step rounds to a neighbouring double, which matters when
      // the step is small against the value (1e-6 at 1e4 is off by up to 1e-6 of itself).
      const double up = original + step, down = original - step;
      const double step_up = up - original, step_down = original - down;
      point[i][j] = up;
      const double plus = evaluate(point);
      point[i][j] = down;
      const double minus = evaluate(point);
      point[i][j] = original;
      const double forward = (plus - center) / step_up, backward = (center - minus) / step_down;
      if (std::fabs(forward - backward) > kKinkThreshold * std::max(1.0, std::fabs(forward) + std::fabs(backward))) {
        ++kinks;
        continue;
      }
      ++checked;
      const double numeric = (plus - minus) / (step_up + step_down);
      if (std::fabs(numeric - analytic[j]) > kGradcheckTolerance.atol + kGradcheckTolerance.rtol * std::fabs(numeric)) {
        if (failures++ < 5)
          errors << "\n  input " << i << " element " << j << ": analytic " << analytic[j] << ", numeric " << numeric;
      }
    }
    if (kinks > checked)
      return ::testing::AssertionFailure() << where << ": input " << i << " sits on kinks at " << kinks << " of "
                                           << (kinks + checked) << " probed points; choose other inputs";
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << where << ": " << failures << " gradient element(s) disagree with finite differences:"
                                       << errors.str();
}

}  // namespace trifecta::testing
