// Graph nodes: saved tensors with version checks, closure nodes, gradient accumulation into leaves, and
// wiring a new node to its inputs and outputs.
#include <atomic>

#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/copy/copy.h"

namespace trifecta {

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  data_ = t.detach();
  version_ = t.storage()->version();
}

Tensor SavedTensor::unpack(const char* op) const {
  if (!data_.defined()) return data_;
  TRIFECTA_CHECK(data_.storage()->version() == version_, op,
                 "a tensor saved for backward (", data_.str(), ") was modified in place after the forward pass "
                 "(version ", data_.storage()->version(), ", saved at ", version_, ")");
  return data_;
}

TensorMeta meta_of(const Tensor& t) { return {t.shape(), t.dtype(), t.device()}; }

Grads FunctionNode::apply(Grads grad_outputs) {
  TRIFECTA_CHECK(backward_, name(),
                 "backward through a graph that was already freed; pass retain_graph=true to the first backward");
  return backward_(grad_outputs);
}

std::string FunctionNode::name() const { return std::string(op_name(op_)) + "_backward"; }

Grads AccumulateGrad::apply(Grads grad_outputs) {
  Tensor& g = grad_outputs[0];
  AutogradMeta& meta = leaf_.ensure_autograd_meta();
  if (!meta.grad.defined()) {
    // Keep the incoming buffer when nothing else can see it; otherwise take a private dense copy, so a
    // later in-place accumulation cannot write into someone else's tensor.
    if (g.is_contiguous() && g.exclusively_owned()) {
      meta.grad = g;
    } else {
      meta.grad = empty(g.shape(), g.options());
      copy_into(meta.grad, g);
    }
  } else {
    add_(meta.grad, g);
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined()) return {};
  AutogradMeta* meta = t.autograd_meta();
  if (meta == nullptr || !meta->requires_grad) return {};
  if (meta->grad_fn) return {meta->grad_fn, meta->output_nr};
  std::shared_ptr<Node> accumulator = meta->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(t);
    accumulator->output_meta.push_back(meta_of(t));
    meta->grad_accumulator = accumulator;
  }
  return {accumulator, 0};
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void check_outputs_finite(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.defined() || !is_floating(out.dtype())) continue;
    const int64_t bad = count_nonfinite(out);
    if (bad == 0) continue;
    std::string shapes;
    for (const Tensor& in : inputs) shapes += (shapes.empty() ? "" : ", ") + in.str();
    TRIFECTA_FAIL("anomaly mode", op, " produced ", bad, " NaN/Inf value(s) in output ", i, " (", out.str(),
                  "); inputs: ", shapes.empty() ? "none" : shapes);
  }
}

void connect_node(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs) {
  static std::atomic<uint64_t> next_sequence_nr{0};
  node->sequence_nr = next_sequence_nr++;
  for (const Tensor& in : inputs) {
    node->next_edges.push_back(gradient_edge(in));
    node->input_meta.push_back(in.defined() ? meta_of(in) : TensorMeta{});
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    node->output_meta.push_back(meta_of(out));
    if (!is_floating(out.dtype())) continue;
    AutogradMeta& meta = out.ensure_autograd_meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
    meta.output_nr = static_cast<int>(i);
  }
}

}  // namespace trifecta
