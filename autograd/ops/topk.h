// topk: the k largest (or smallest) elements along a dim, with their positions.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

struct TopkResult {
  Tensor values;   // x's dtype, x's shape with dim resized to k
  Tensor indices;  // int64 positions along dim
};

// The k largest (largest = true) or smallest elements of each line of x along dim, best first. NaN counts as
// larger than every number; equal values come in index order (the smaller index first). CPU and CUDA
// return identical results. An unsorted topk's order is unspecified, so sorted = false also gets the sorted
// order; the flag exists for PyTorch-compatible call sites. The gradient flows to the chosen positions.
TopkResult topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace trifecta
