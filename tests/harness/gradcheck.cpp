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
  double worst = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    bool ok;
    if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
    else if (std::isinf(e) || std::isinf(a)) ok = a == e;
    else ok = std::fabs(a - e) <= tol.atol + tol.rtol * std::fabs(e);
    if (!ok) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++failures;
      if (std::isfinite(a) && std::isfinite(e)) worst = std::max(worst, std::fabs(a - e));
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " of shape " << shape.str() << ": " << failures << " of "
                                       << actual.size() << " elements differ (rtol " << tol.rtol << ", atol "
                                       << tol.atol << "); first at flat index " << first << ": got "
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
    if (!is_floating(out.dtype())) {
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
      const double step = kGradcheckStep * std::max(1.0, std::fabs(original));
      point[i][j] = original + step;
      const double plus = evaluate(point);
      point[i][j] = original - step;
      const double minus = evaluate(point);
      point[i][j] = original;
      const double forward = (plus - center) / step, backward = (center - minus) / step;
      if (std::fabs(forward - backward) > kKinkThreshold * std::max(1.0, std::fabs(forward) + std::fabs(backward))) {
        ++kinks;
        continue;
      }
      ++checked;
      const double numeric = (plus - minus) / (2 * step);
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
