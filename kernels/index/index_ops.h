// Indexing kernels: their signatures, and the iteration plan the CPU and CUDA loops share.
//
//   gather       out[c] = x[c with c[dim] := index[c]]            (PyTorch's torch.gather)
//   index_select gather with a 1-D index broadcast across every other dim: out[c] = x[c with c[dim] := index[c[dim]]]
//   scatter_add  out[c with c[dim] := index[c]] += src[c]         (the adjoint of gather)
//   index_add    out[c with c[dim] := index[c[dim]]] += source[c] (the adjoint of index_select)
//
// Index values must lie in [0, x.size(dim)). The CPU kernels check them before touching any data; the CUDA
// kernels skip a bad index, raise a device-side flag with its value, and the host reads the flag after the
// kernel and throws naming the op (no device assert: that would poison the CUDA context).
//
// Determinism: gather and index_select write each output once. scatter_add walks each line along dim in
// order on one thread (lines write disjoint outputs), and index_add sums each destination row's sources in
// ascending position order on both devices (CUDA sorts (index, position) pairs to find them). So all four
// give the same bits run to run, and CPU and CUDA agree bit for bit.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace trifecta {

// gather and index_select: out is contiguous with index's (expanded) shape; op names the caller in errors.
using GatherKernel = void(const char* op, const Tensor& x, int dim, const Tensor& index, const Tensor& out);
// scatter_add: out (contiguous, holding the values to add to) receives src's elements at index.
using ScatterAddKernel = void(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& src);
// index_add: out is contiguous; index is 1-D int64 of any stride; source is contiguous with out's shape but
// index.numel() along dim.
using IndexAddKernel = void(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& source);

// The iteration space of gather and scatter_add is the index's shape. Element c reads the index at c, the
// "dense" operand (gather's out, scatter's src) at c, and the "indexed" operand (gather's x, scatter's out)
// at c with c[dim] replaced by the index value.
struct IndexPlan {
  int ndim = 0;
  int dim = 0;
  int64_t numel = 0;
  int64_t dim_size = 0;            // index values must lie in [0, dim_size)
  int64_t indexed_dim_stride = 0;  // the indexed operand's stride along dim (multiplies the index value)
  int64_t sizes[kMaxDims] = {};
  int64_t index_strides[kMaxDims] = {};
  int64_t indexed_strides[kMaxDims] = {};  // 0 at dim: the position along dim never addresses it directly
  int64_t dense_strides[kMaxDims] = {};

  struct Offsets {
    int64_t index, indexed, dense;
  };

  // Offsets of the element with row-major number e; with skip_dim, e numbers the lines along dim instead
  // (every coordinate but dim's) and the offsets are those of each line's first element.
  TRIFECTA_HD Offsets offsets_of(int64_t e, bool skip_dim = false) const {
    Offsets o{0, 0, 0};
    for (int d = ndim - 1; d >= 0; --d) {
      if (skip_dim && d == dim) continue;
      const int64_t i = e % sizes[d];
      e /= sizes[d];
      o.index += i * index_strides[d];
      o.indexed += i * indexed_strides[d];
      o.dense += i * dense_strides[d];
    }
    return o;
  }
};

// index: the index tensor (or a broadcast view of it) with the iteration shape.
inline IndexPlan make_index_plan(const Tensor& indexed, int dim, const Tensor& index, const Tensor& dense) {
  IndexPlan plan;
  plan.ndim = index.ndim();
  plan.dim = dim;
  plan.numel = index.numel();
  plan.dim_size = indexed.size(dim);
  plan.indexed_dim_stride = indexed.stride(dim);
  for (int d = 0; d < plan.ndim; ++d) {
    plan.sizes[d] = index.size(d);
    plan.index_strides[d] = index.stride(d);
    plan.indexed_strides[d] = d == dim ? 0 : indexed.stride(d);
    plan.dense_strides[d] = dense.stride(d);
  }
  return plan;
}

// index_add views out as [outer, rows, inner] and source as [outer, n, inner] around dim.
struct IndexAddShape {
  int64_t outer = 1, rows = 1, inner = 1, n = 1;
};

inline IndexAddShape index_add_shape(const Tensor& out, int dim, const Tensor& index) {
  IndexAddShape s;
  for (int d = 0; d < dim; ++d) s.outer *= out.size(d);
  for (int d = dim + 1; d < out.ndim(); ++d) s.inner *= out.size(d);
  s.rows = out.size(dim);
  s.n = index.numel();
  return s;
}

}  // namespace trifecta
