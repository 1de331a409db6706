// Entry point of the backward pass (Tensor::backward calls it).
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

// Accumulates d(root)/d(leaf), weighted by root_grad, into every leaf that requires grad. Frees the
// graph's saved tensors unless retain_graph.
void run_backward(const Tensor& root, const Tensor& root_grad, bool retain_graph);

}  // namespace trifecta
