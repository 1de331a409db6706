// How a reduction walks its input, shared by both devices. The input's dims split into kept dims (indexing
// outputs) and reduced dims (indexing the elements folded into one output). Each group is coalesced on its
// own (neighbours that are contiguous merge), keeping row-major order so that the reduced index r counts
// elements in the order argmax reports. Three layouts then get their own loop on each device:
//   rows     the innermost reduced dim has stride 1: each output folds contiguous runs (sum over the last dim)
//   columns  the innermost kept dim has stride 1: neighbouring outputs read neighbouring elements
//            (sum over the batch dim of [N, C])
//   general  anything else
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

struct DimGroup {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // strides in the input

  // Input offset of the element with row-major index i in this group.
  TRIFECTA_HD int64_t offset_of(int64_t i) const {
    int64_t offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      offset += (i % sizes[d]) * strides[d];
      i /= sizes[d];
    }
    return offset;
  }
  TRIFECTA_HD int64_t inner_stride() const { return ndim == 0 ? 0 : strides[ndim - 1]; }
};

enum class ReduceLayout : uint8_t { Rows, Columns, General };

struct ReducePlan {
  DimGroup kept;     // indexes outputs (row-major = the contiguous output's order)
  DimGroup reduced;  // indexes elements within one output
  int64_t outputs = 1;
  int64_t reduced_count = 1;
  ReduceLayout layout = ReduceLayout::General;
};

inline void append_coalesced(DimGroup& group, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (group.ndim > 0 && group.strides[group.ndim - 1] == stride * size) {
    group.sizes[group.ndim - 1] *= size;
    group.strides[group.ndim - 1] = stride;
    return;
  }
  group.sizes[group.ndim] = size;
  group.strides[group.ndim] = stride;
  ++group.ndim;
}

inline ReducePlan make_reduce_plan(const Tensor& x, const Shape& out_shape) {
  ReducePlan plan;
  for (int d = 0; d < x.ndim(); ++d) {
    const bool reduced = out_shape[d] == 1;
    append_coalesced(reduced ? plan.reduced : plan.kept, x.shape()[d], x.strides()[d]);
    (reduced ? plan.reduced_count : plan.outputs) *= x.shape()[d];
  }
  if (plan.reduced.ndim > 0 && plan.reduced.inner_stride() == 1) plan.layout = ReduceLayout::Rows;
  else if (plan.kept.ndim > 0 && plan.kept.inner_stride() == 1) plan.layout = ReduceLayout::Columns;
  return plan;
}

}  // namespace trifecta
