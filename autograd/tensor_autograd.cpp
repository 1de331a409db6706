// Tensor's autograd methods: marking leaves, reading gradients, starting backward, detaching.
#include "autograd/engine.h"
#include "autograd/node.h"
#include "autograd/ops/factories.h"

namespace trifecta {

AutogradMeta& Tensor::ensure_autograd_meta() const {
  TensorImpl* impl = checked();
  if (!impl->autograd) impl->autograd = std::make_shared<AutogradMeta>();
  return *impl->autograd;
}

bool Tensor::requires_grad() const {
  const AutogradMeta* meta = autograd_meta();
  return meta != nullptr && meta->requires_grad;
}

Tensor& Tensor::requires_grad_(bool enabled) {
  TRIFECTA_CHECK(is_leaf(), "requires_grad_", "only leaf tensors can change requires_grad; this one has grad_fn ",
                 grad_fn()->name(), " (use detach() first)");
  TRIFECTA_CHECK(!enabled || is_floating(dtype()), "requires_grad_", "only floating tensors can require grad, got ", str());
  ensure_autograd_meta().requires_grad = enabled;
  return *this;
}

bool Tensor::is_leaf() const {
  const AutogradMeta* meta = autograd_meta();
  return meta == nullptr || !meta->grad_fn;
}

Tensor Tensor::grad() const {
  const AutogradMeta* meta = autograd_meta();
  return meta ? meta->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  TRIFECTA_CHECK(!grad.defined() || grad.shape() == shape(), "set_grad", "gradient ", grad.str(), " does not match ", str());
  ensure_autograd_meta().grad = grad;
}

void Tensor::zero_grad() const {
  if (AutogradMeta* meta = autograd_meta()) meta->grad = Tensor();
}

std::shared_ptr<Node> Tensor::grad_fn() const {
  const AutogradMeta* meta = autograd_meta();
  return meta ? meta->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  TRIFECTA_CHECK(requires_grad(), "backward", "called on a tensor that does not require grad (", str(), ")");
  Tensor seed = gradient;
  if (!seed.defined()) {
    TRIFECTA_CHECK(numel() == 1, "backward", "a gradient can be implied only for a one-element output; ", str(),
                   " needs an explicit gradient");
    seed = ones_like(*this);
  }
  TRIFECTA_CHECK(seed.shape() == shape() && seed.device() == device(), "backward", "gradient ", seed.str(),
                 " does not match the output ", str());
  run_backward(*this, seed.to(dtype()).detach(), retain_graph);
}

Tensor Tensor::detach() const { return as_strided(*this, shape(), strides(), offset()); }

}  // namespace trifecta
