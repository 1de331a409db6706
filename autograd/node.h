// The autograd graph. Running an op on inputs that require grad creates a Node that knows how to turn the
// gradient of the op's outputs into gradients of its inputs, and an Edge per input pointing at the node
// that produced that input (or at an AccumulateGrad node for a leaf). backward() walks these edges in
// reverse topological order.
//
// Nodes capture what their backward needs as SavedTensors: a data-only alias (no autograd record, so an
// output saved by its own grad_fn makes no reference cycle) plus the storage version at save time, so that
// an in-place write between forward and backward is caught instead of silently corrupting the gradient.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels/registry.h"
#include "tensor/tensor.h"

namespace trifecta {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: this input needs no gradient
  int input_nr = 0;            // which of node's outputs this is
};

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;          // null for leaves
  int output_nr = 0;                      // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;   // a leaf's AccumulateGrad, shared by every use of the leaf
};

class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // The saved data; throws naming the op if it was modified in place after being saved.
  Tensor unpack(const char* op) const;

 private:
  Tensor data_;
  uint64_t version_ = 0;
};

// Shape, dtype and device of a tensor the node produced or consumed: enough to make a zero gradient for
// an unused output and to check the shapes of the gradients a backward rule returns.
struct TensorMeta {
  Shape shape;
  DType dtype = DType::Float32;
  Device device;
};

using Grads = std::vector<Tensor>;

class Node {
 public:
  virtual ~Node() = default;
  // Gradients w.r.t. the forward inputs (one per next_edges entry; undefined = zero) from gradients
  // w.r.t. the forward outputs (one per output; the engine fills unused ones with zeros).
  virtual Grads apply(Grads grad_outputs) = 0;
  virtual std::string name() const = 0;
  // Frees what the node saved; called after backward unless the graph is retained.
  virtual void release() {}
  virtual bool released() const { return false; }

  std::vector<Edge> next_edges;
  std::vector<TensorMeta> input_meta;   // one per forward input
  std::vector<TensorMeta> output_meta;  // one per forward output
  uint64_t sequence_nr = 0;             // creation order: later nodes run first when both are ready
};

// A node whose backward is a closure capturing what it needs.
class FunctionNode : public Node {
 public:
  using Backward = std::function<Grads(const Grads&)>;
  FunctionNode(OpId op, Backward backward) : op_(op), backward_(std::move(backward)) {}
  Grads apply(Grads grad_outputs) override;
  std::string name() const override;
  void release() override { backward_ = nullptr; }
  bool released() const override { return !backward_; }

 private:
  OpId op_;
  Backward backward_;
};

// The sink for a leaf: adds the incoming gradient into leaf.grad.
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {}
  Grads apply(Grads grad_outputs) override;
  std::string name() const override { return "AccumulateGrad"; }

 private:
  Tensor leaf_;
};

// The edge along which a gradient for t must flow, or an empty edge if t needs none.
Edge gradient_edge(const Tensor& t);
TensorMeta meta_of(const Tensor& t);

}  // namespace trifecta
