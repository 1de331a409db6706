// How topk walks its input, shared by both devices: x is a set of lines along dim (the "rows", numbered
// row-major over the other dims). Row r starts at rows.offset_of(r) and steps by x.stride(dim); its k
// results go to the contiguous outputs at (r / inner * k + j) * inner + r % inner, j = 0..k-1.
#pragma once

#include "kernels/reduce/reduce_plan.h"
#include "tensor/tensor.h"

namespace trifecta {

struct TopkPlan {
  DimGroup rows;          // every dim but dim, with x's strides
  int64_t row_count = 1;
  int64_t length = 1;     // x.size(dim)
  int64_t step = 0;       // x.stride(dim)
  int64_t inner = 1;      // elements after dim (the outputs' stride along dim is inner)
  int64_t k = 0;

  TRIFECTA_HD int64_t out_offset(int64_t row, int64_t j) const { return (row / inner * k + j) * inner + row % inner; }
};

inline TopkPlan make_topk_plan(const Tensor& x, int dim, int64_t k) {
  TopkPlan plan;
  for (int d = 0; d < x.ndim(); ++d) {
    if (d == dim) continue;
    append_coalesced(plan.rows, x.size(d), x.stride(d));
    plan.row_count *= x.size(d);
    if (d > dim) plan.inner *= x.size(d);
  }
  plan.length = x.size(dim);
  plan.step = x.stride(dim);
  plan.k = k;
  return plan;
}

}  // namespace trifecta
