// Front ends of the indexing and joining ops, and their backward rules. The four kernel ops come in
// adjoint pairs, and each one's backward is its partner:
//   index_select  -> index_add into zeros        index_add   -> (grad, index_select(grad))
//   gather        -> scatter_add into zeros      scatter_add -> (grad, gather(grad))
// embedding is index_select on the flattened indices; concat copies each input into a slice of the output
// and sends back slices of the gradient; stack is unsqueeze + concat; split returns slices (views).
#include "autograd/ops/index.h"

#include <algorithm>
#include <memory>

#include "autograd/ops/factories.h"
#include "autograd/record.h"
#include "kernels/copy/copy.h"
#include "kernels/index/index_ops.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

void check_input(const char* op, const Tensor& x) {
  TRIFECTA_CHECK(x.defined(), op, "undefined input");
  TRIFECTA_CHECK(x.ndim() >= 1, op, "needs an input of at least one dimension, got ", x.str());
}

void check_index(const char* op, const Tensor& x, const Tensor& index) {
  TRIFECTA_CHECK(index.defined(), op, "undefined index");
  TRIFECTA_CHECK(index.dtype() == DType::Int64, op, "index must be int64, got ", index.str());
  TRIFECTA_CHECK(index.device() == x.device(), op, "index is on ", index.device().str(), " but the input on ",
                 x.device().str());
}

void check_same_kind(const char* op, const Tensor& x, const Tensor& other, const char* what) {
  TRIFECTA_CHECK(other.defined(), op, "undefined ", what);
  TRIFECTA_CHECK(other.dtype() == x.dtype(), op, what, " is ", dtype_name(other.dtype()), " but the input is ",
                 dtype_name(x.dtype()));
  TRIFECTA_CHECK(other.device() == x.device(), op, what, " is on ", other.device().str(), " but the input on ",
                 x.device().str());
}

// A contiguous tensor with t's values, without an autograd record (some kernels take dense operands).
Tensor dense(const Tensor& t) { return t.detach().contiguous(); }

// index_select's 1-D index seen with the output's shape: it varies along dim only (stride 0 elsewhere), so
// index_select is a gather with this index.
Tensor broadcast_index(const Tensor& index, const Shape& shape, int dim) {
  Strides strides;
  for (int d = 0; d < shape.size(); ++d) strides.push_back(d == dim ? index.stride(0) : 0);
  return as_strided(index, shape, strides, index.offset());
}

Shape with_size(Shape shape, int dim, int64_t size) {
  shape[dim] = size;
  return shape;
}

// The kernels without autograd: the front ends and backward rules below share them.
Tensor gather_raw(OpId op, const char* name, const Tensor& x, int dim, const Tensor& index) {
  Tensor out = empty(index.shape(), x.options());
  kernel_for<GatherKernel>(op, x.device())(name, x, dim, index, out);
  return out;
}

Tensor index_select_raw(const char* name, const Tensor& x, int dim, const Tensor& index) {
  return gather_raw(OpId::index_select, name, x, dim, broadcast_index(index, with_size(x.shape(), dim, index.numel()), dim));
}

void index_add_into(const char* name, const Tensor& out, int dim, const Tensor& index, const Tensor& source) {
  kernel_for<IndexAddKernel>(OpId::index_add, out.device())(name, out, dim, index, dense(source));
}

void scatter_add_into(const char* name, const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  kernel_for<ScatterAddKernel>(OpId::scatter_add, out.device())(name, out, dim, index, src);
}

Tensor copy_of(const Tensor& x) {
  Tensor out = empty(x.shape(), x.options());
  copy_into(out, x);
  return out;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_input("index_select", x);
  check_index("index_select", x, index);
  TRIFECTA_CHECK(index.ndim() == 1, "index_select", "index must be 1-D, got ", index.str());
  const int d = wrap_dim(dim, x.ndim(), "index_select");
  Tensor out = index_select_raw("index_select", x, d, index);
  record(OpId::index_select, {x}, {out}, [d, in_shape = x.shape(), saved = SavedTensor(index)](const Grads& g) {
    Tensor grad = zeros(in_shape, g[0].options());
    index_add_into("index_select", grad, d, saved.unpack("index_select"), g[0]);
    return Grads{grad};
  });
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  check_input("index_add", x);
  check_index("index_add", x, index);
  check_same_kind("index_add", x, source, "source");
  TRIFECTA_CHECK(index.ndim() == 1, "index_add", "index must be 1-D, got ", index.str());
  const int d = wrap_dim(dim, x.ndim(), "index_add");
  const Shape expected = with_size(x.shape(), d, index.numel());
  TRIFECTA_CHECK(source.shape() == expected, "index_add", "source must have shape ", expected.str(), " (the input's ",
                 x.shape().str(), " with dim ", d, " of the index's length ", index.numel(), "), got ",
                 source.shape().str());
  Tensor out = copy_of(x);
  index_add_into("index_add", out, d, index, source);
  record(OpId::index_add, {x, source}, {out},
         [d, need_source = source.requires_grad(), saved = SavedTensor(index)](const Grads& g) {
           return Grads{g[0], need_source ? index_select_raw("index_add", g[0], d, saved.unpack("index_add")) : Tensor()};
         });
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_input("gather", x);
  check_index("gather", x, index);
  const int d = wrap_dim(dim, x.ndim(), "gather");
  TRIFECTA_CHECK(index.ndim() == x.ndim(), "gather", "index must have the input's rank ", x.ndim(), ", got ",
                 index.str());
  for (int e = 0; e < x.ndim(); ++e)
    TRIFECTA_CHECK(e == d || index.size(e) <= x.size(e), "gather", "index of shape ", index.shape().str(),
                   " exceeds the input's shape ", x.shape().str(), " in dim ", e);
  Tensor out = gather_raw(OpId::gather, "gather", x, d, index);
  record(OpId::gather, {x}, {out}, [d, in_shape = x.shape(), saved = SavedTensor(index)](const Grads& g) {
    Tensor grad = zeros(in_shape, g[0].options());
    scatter_add_into("gather", grad, d, saved.unpack("gather"), g[0]);
    return Grads{grad};
  });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_input("scatter_add", x);
  check_index("scatter_add", x, index);
  check_same_kind("scatter_add", x, src, "src");
  const int d = wrap_dim(dim, x.ndim(), "scatter_add");
  TRIFECTA_CHECK(index.ndim() == x.ndim() && src.ndim() == x.ndim(), "scatter_add",
                 "input, index and src must have one rank, got ", x.str(), ", ", index.str(), " and ", src.str());
  for (int e = 0; e < x.ndim(); ++e) {
    TRIFECTA_CHECK(index.size(e) <= src.size(e), "scatter_add", "index of shape ", index.shape().str(),
                   " exceeds src's shape ", src.shape().str(), " in dim ", e);
    TRIFECTA_CHECK(e == d || index.size(e) <= x.size(e), "scatter_add", "index of shape ", index.shape().str(),
                   " exceeds the input's shape ", x.shape().str(), " in dim ", e);
  }
  Tensor out = copy_of(x);
  scatter_add_into("scatter_add", out, d, index, src);
  record(OpId::scatter_add, {x, src}, {out},
         [d, need_src = src.requires_grad(), src_shape = src.shape(), saved = SavedTensor(index)](const Grads& g) {
           if (!need_src) return Grads{g[0], Tensor()};
           const Tensor idx = saved.unpack("scatter_add");
           const Tensor picked = gather_raw(OpId::gather, "scatter_add", g[0], d, idx);
           if (idx.shape() == src_shape) return Grads{g[0], picked};
           // src elements outside the index's shape were never added: their gradient is zero.
           Tensor grad_src = zeros(src_shape, g[0].options());
           Tensor region = grad_src;
           for (int e = 0; e < region.ndim(); ++e) region = region.narrow(e, 0, idx.size(e));
           copy_into(region, picked);
           return Grads{g[0], grad_src};
         });
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  TRIFECTA_CHECK(weight.defined(), "embedding", "undefined weight");
  TRIFECTA_CHECK(weight.ndim() == 2, "embedding", "weight must be [num_embeddings, dim], got ", weight.str());
  check_index("embedding", weight, indices);
  const int64_t rows = weight.size(0), width = weight.size(1), n = indices.numel();
  if (padding_idx) {
    TRIFECTA_CHECK(*padding_idx >= -rows && *padding_idx < rows, "embedding", "padding_idx ", *padding_idx,
                   " is out of range for ", rows, " embeddings");
    if (*padding_idx < 0) *padding_idx += rows;
  }
  const Tensor flat = indices.reshape({n});
  Shape out_shape = indices.shape();
  out_shape.push_back(width);
  Tensor out = empty(out_shape, weight.options());
  kernel_for<GatherKernel>(OpId::index_select, weight.device())("embedding", weight, 0,
                                                                broadcast_index(flat, {n, width}, 0), out.view({n, width}));
  record(OpId::embedding, {weight}, {out}, [rows, width, n, padding_idx, saved = SavedTensor(flat)](const Grads& g) {
    Tensor grad = zeros({rows, width}, g[0].options());
    index_add_into("embedding", grad, 0, saved.unpack("embedding"), g[0].reshape({n, width}));
    if (padding_idx) zero_(grad.select(0, *padding_idx));
    return Grads{grad};
  });
  return out;
}

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  TRIFECTA_CHECK(!tensors.empty(), "concat", "needs at least one tensor");
  const Tensor& first = tensors[0];
  TRIFECTA_CHECK(first.defined(), "concat", "tensor 0 is undefined");
  TRIFECTA_CHECK(first.ndim() >= 1, "concat", "cannot join 0-dim tensors along a dim (stack them instead)");
  const int d = wrap_dim(dim, first.ndim(), "concat");
  Shape shape = with_size(first.shape(), d, 0);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    TRIFECTA_CHECK(t.defined(), "concat", "tensor ", i, " is undefined");
    TRIFECTA_CHECK(t.dtype() == first.dtype(), "concat", "tensor ", i, " is ", dtype_name(t.dtype()), " but tensor 0 is ",
                   dtype_name(first.dtype()));
    TRIFECTA_CHECK(t.device() == first.device(), "concat", "tensor ", i, " is on ", t.device().str(),
                   " but tensor 0 on ", first.device().str());
    TRIFECTA_CHECK(t.ndim() == first.ndim() && with_size(t.shape(), d, 0) == with_size(first.shape(), d, 0), "concat",
                   "tensor ", i, " has shape ", t.shape().str(), " but tensor 0 has shape ", first.shape().str(),
                   ": sizes must match except in dim ", d);
    shape[d] += t.size(d);
  }
  Tensor out = empty(shape, first.options());
  std::vector<int64_t> starts, sizes;
  for (const Tensor& t : tensors) {
    starts.push_back(sizes.empty() ? 0 : starts.back() + sizes.back());
    sizes.push_back(t.size(d));
    copy_into(out.narrow(d, starts.back(), sizes.back()), t);
  }
  record(OpId::concat, tensors, {out}, [d, starts, sizes](const Grads& g) {
    Grads grads;
    for (size_t i = 0; i < starts.size(); ++i) grads.push_back(g[0].narrow(d, starts[i], sizes[i]));
    return grads;
  });
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  TRIFECTA_CHECK(!tensors.empty(), "stack", "needs at least one tensor");
  TRIFECTA_CHECK(tensors[0].defined(), "stack", "tensor 0 is undefined");
  const int d = wrap_dim(dim, tensors[0].ndim() + 1, "stack");
  std::vector<Tensor> pieces;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TRIFECTA_CHECK(tensors[i].defined(), "stack", "tensor ", i, " is undefined");
    TRIFECTA_CHECK(tensors[i].shape() == tensors[0].shape(), "stack", "tensor ", i, " has shape ",
                   tensors[i].shape().str(), " but tensor 0 has shape ", tensors[0].shape().str(),
                   ": stacked tensors must have one shape");
    pieces.push_back(tensors[i].unsqueeze(d));
  }
  return concat(pieces, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check_input("split", x);
  const int d = wrap_dim(dim, x.ndim(), "split");
  const int64_t size = x.size(d);
  TRIFECTA_CHECK(split_size > 0 || size == 0, "split", "split_size must be positive, got ", split_size);
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim splits into one empty piece
  return split(x, sizes, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check_input("split", x);
  const int d = wrap_dim(dim, x.ndim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    TRIFECTA_CHECK(s >= 0, "split", "sizes must be non-negative, got ", s);
    total += s;
  }
  TRIFECTA_CHECK(total == x.size(d), "split", "sizes sum to ", total, " but dim ", d, " of ", x.str(), " has size ",
                 x.size(d));
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.narrow(d, start, s));
    start += s;
  }
  return pieces;
}

}  // namespace trifecta
