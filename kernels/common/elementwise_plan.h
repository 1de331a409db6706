// The iteration plan shared by the CPU and CUDA elementwise loops. All operands (operand 0 is the output)
// have the output's shape; inputs that broadcast carry stride 0. The plan orders dims so the output's
// smallest stride is innermost, drops size-1 dims and merges neighbours that are contiguous in every
// operand, so a contiguous [64, 3, 32, 32] op becomes one flat loop of 196608 elements.
#pragma once

#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace trifecta {

template <int N>
struct ElementwisePlan {
  int ndim = 0;  // after coalescing; 0 means a single element
  int64_t numel = 1;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // in elements, innermost dim last
};

template <int N>
ElementwisePlan<N> make_elementwise_plan(const std::array<const Tensor*, N>& operands) {
  const Shape& shape = operands[0]->shape();
  ElementwisePlan<N> plan;
  plan.numel = shape.numel();
  // Collect the dims that matter (size > 1), in an order that puts the output's smallest stride last.
  int order[kMaxDims], kept = 0;
  for (int d = 0; d < shape.size(); ++d)
    if (shape[d] != 1) order[kept++] = d;
  for (int i = 1; i < kept; ++i) {  // insertion sort: stable, and rank is at most 8
    for (int j = i; j > 0; --j) {
      const int64_t outer = operands[0]->strides()[order[j - 1]], inner = operands[0]->strides()[order[j]];
      if (outer >= inner) break;
      const int tmp = order[j];
      order[j] = order[j - 1];
      order[j - 1] = tmp;
    }
  }
  for (int i = 0; i < kept; ++i) {
    const int d = order[i];
    const int64_t size = shape[d];
    bool merges = plan.ndim > 0;
    for (int k = 0; k < N && merges; ++k)
      merges = plan.strides[k][plan.ndim - 1] == operands[k]->strides()[d] * size;
    if (merges) {
      plan.sizes[plan.ndim - 1] *= size;
      for (int k = 0; k < N; ++k) plan.strides[k][plan.ndim - 1] = operands[k]->strides()[d];
    } else {
      plan.sizes[plan.ndim] = size;
      for (int k = 0; k < N; ++k) plan.strides[k][plan.ndim] = operands[k]->strides()[d];
      ++plan.ndim;
    }
  }
  return plan;
}

}  // namespace trifecta
