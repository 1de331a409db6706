// Gradient clipping: the float64 norm over all gradients, and the in-place rescaling.
#include "optim/clip.h"

#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace trifecta::optim {
namespace {

std::vector<Tensor> gradients(const std::vector<Tensor>& params, const char* op) {
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    TRIFECTA_CHECK(p.defined(), op, "undefined parameter");
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return grads;
}

double norm_of(const std::vector<Tensor>& grads) {
  NoGradGuard no_grad;
  // Per device: each gradient's sum of squares in float64, stacked and summed there, so one value per device
  // crosses to the host.
  std::map<std::pair<int, int>, std::vector<Tensor>> per_device;
  for (const Tensor& g : grads) {
    const Device d = g.device();
    per_device[{static_cast<int>(d.type), d.index}].push_back(sum(square(g.to(DType::Float64))));
  }
  double total = 0.0;
  for (const auto& [device, sums] : per_device) total += sum(stack(sums)).to(kCPU).item<double>();
  return std::sqrt(total);
}

}  // namespace

double grad_norm(const std::vector<Tensor>& params) { return norm_of(gradients(params, "grad_norm")); }

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, ClipForm form) {
  TRIFECTA_CHECK(max_norm > 0.0 && std::isfinite(max_norm), "clip_grad_norm_", "max_norm must be positive and finite, got ",
                 max_norm);
  const std::vector<Tensor> grads = gradients(params, "clip_grad_norm_");
  const double norm = norm_of(grads);
  if (!std::isfinite(norm)) return norm;
  const double scale = form == ClipForm::Clamp ? max_norm / (norm + 1e-6) : max_norm / (norm + max_norm);
  // Clamp leaves gradients below the threshold alone (PyTorch multiplies them by 1, the same values).
  if (form == ClipForm::Clamp && scale >= 1.0) return norm;
  NoGradGuard no_grad;
  for (const Tensor& g : grads) mul_(g, scale);
  return norm;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  TRIFECTA_CHECK(clip_value >= 0.0, "clip_grad_value_", "clip_value must be non-negative, got ", clip_value);
  NoGradGuard no_grad;
  for (const Tensor& g : gradients(params, "clip_grad_value_")) copy_(g, clamp(g, -clip_value, clip_value));
}

}  // namespace trifecta::optim
