// The backward pass. From the root's node, count how many edges lead into each reachable node; then run
// nodes whose inputs are all in, latest-created first, summing gradients that meet at a node. A node runs
// once with the total of its incoming gradients, so a tensor used twice is differentiated once.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops/elementwise.h"
#include "autograd/ops/factories.h"
#include "autograd/record.h"

namespace trifecta {

namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr < b->sequence_nr; }
};

void check_gradient(const Node& node, size_t input, const Tensor& grad) {
  const TensorMeta& expected = node.input_meta[input];
  TRIFECTA_CHECK(grad.shape() == expected.shape, node.name(), "returned a gradient of shape ", grad.shape().str(),
                 " for input ", input, " of shape ", expected.shape.str());
  TRIFECTA_CHECK(grad.device() == expected.device, node.name(), "returned a gradient on ", grad.device().str(),
                 " for input ", input, " on ", expected.device.str());
  TRIFECTA_CHECK(grad.dtype() == expected.dtype, node.name(), "returned a gradient of dtype ", dtype_name(grad.dtype()),
                 " for input ", input, " of dtype ", dtype_name(expected.dtype));
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& root_grad, bool retain_graph) {
  const Edge root_edge = gradient_edge(root);
  TRIFECTA_CHECK(root_edge.node, "backward", "the tensor does not require grad and has no grad_fn");
  NoGradGuard no_grad;  // backward rules compute with plain tensors; no graph of the graph is built

  // Dependency counts over the reachable graph.
  std::unordered_map<Node*, int> dependencies;
  std::unordered_set<Node*> seen{root_edge.node.get()};
  std::vector<Node*> stack{root_edge.node.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->next_edges) {
      if (!edge.node) continue;
      ++dependencies[edge.node.get()];
      if (seen.insert(edge.node.get()).second) stack.push_back(edge.node.get());
    }
  }

  std::unordered_map<Node*, Grads> buffers;
  const auto deliver = [&](Node* node, int slot, Tensor grad) {
    Grads& buffer = buffers[node];
    if (buffer.empty()) buffer.resize(node->output_meta.size());
    Tensor& cell = buffer[slot];
    cell = cell.defined() ? add(cell, grad) : std::move(grad);
  };
  deliver(root_edge.node.get(), root_edge.input_nr, root_grad);

  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  ready.push(root_edge.node.get());
  while (!ready.empty()) {
    Node* node = ready.top();
    ready.pop();
    Grads grad_outputs = std::move(buffers[node]);
    buffers.erase(node);
    grad_outputs.resize(node->output_meta.size());
    for (size_t i = 0; i < grad_outputs.size(); ++i) {
      if (grad_outputs[i].defined()) continue;
      const TensorMeta& meta = node->output_meta[i];
      grad_outputs[i] = zeros(meta.shape, {meta.dtype, meta.device});
    }
    Grads grad_inputs = node->apply(std::move(grad_outputs));
    if (!retain_graph) node->release();
    if (anomaly_enabled()) check_outputs_finite(node->name(), {}, grad_inputs);
    TRIFECTA_CHECK(grad_inputs.empty() || grad_inputs.size() == node->next_edges.size(), node->name(), "returned ",
                   grad_inputs.size(), " gradients for ", node->next_edges.size(), " inputs");
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& edge = node->next_edges[i];
      if (!edge.node) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined()) {
        check_gradient(*node, i, grad_inputs[i]);
        deliver(edge.node.get(), edge.input_nr, std::move(grad_inputs[i]));
      }
      // A node whose every incoming gradient was undefined still runs (on zeros), so that the nodes after
      // it see all their dependencies arrive.
      if (--dependencies[edge.node.get()] == 0) ready.push(edge.node.get());
    }
  }
}

}  // namespace trifecta
