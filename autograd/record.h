// The one helper every front-end op calls after its forward kernels:
//
//   Tensor y = ...kernels...;
//   record(OpId::exp, {x}, {y}, [y = SavedTensor(y)](const Grads& g) { return Grads{g[0] * y.unpack("exp")}; });
//
// It runs the anomaly check (when on) and, when grad mode is on and any input requires grad, creates the
// backward node, wires its edges to the inputs and marks the outputs as its results. Undefined inputs
// (an absent bias) get no edge; non-floating outputs (indices) never require grad.
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace trifecta {

bool any_requires_grad(const std::vector<Tensor>& inputs);
// Throws naming op and the inputs' shapes when an output holds NaN or Inf (call only in anomaly mode).
void check_outputs_finite(const std::string& op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);
void connect_node(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                  const std::vector<Tensor>& outputs);

// Inputs and outputs as lists, for ops with a variable number of them (concat).
template <class Backward>
void record(OpId op, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs, Backward&& backward) {
  if (anomaly_enabled()) check_outputs_finite(op_name(op), inputs, outputs);
  if (!grad_enabled() || !any_requires_grad(inputs)) return;
  connect_node(std::make_shared<FunctionNode>(op, FunctionNode::Backward(std::forward<Backward>(backward))), inputs,
               outputs);
}

template <class Backward>
void record(OpId op, std::initializer_list<Tensor> inputs, std::initializer_list<Tensor> outputs, Backward&& backward) {
  record(op, std::vector<Tensor>(inputs), std::vector<Tensor>(outputs), std::forward<Backward>(backward));
}

}  // namespace trifecta
