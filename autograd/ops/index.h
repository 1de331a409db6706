// Indexing and joining: picking and scattering along a dim by an int64 index tensor (PyTorch semantics),
// embedding lookup, and concatenating, stacking and splitting tensors. Index values must lie in
// [0, size of the indexed dim); anything else is an Error naming the op and the bad value, on either device.
#pragma once

#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

// out has x's shape with dim resized to index.numel(): out[..., i, ...] = x[..., index[i], ...]. index is 1-D.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// x with source's slices added at index along dim (out of place): out[..., index[i], ...] += source[..., i, ...].
// Repeated indices accumulate. source has x's shape with dim resized to index.numel().
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for other dims); out has index's shape.
// index has x's rank and index.size(d) <= x.size(d) for every d != dim.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x with src added at the places gather would read: out[index[i][j][k]][j][k] += src[i][j][k] for dim 0.
// index has x's rank, index.size(d) <= src.size(d) for every d, and <= x.size(d) for d != dim.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);

// Rows of weight [V, D] picked by indices (int64, any shape): the result has shape indices.shape + [D].
// The padding_idx row (negative counts from the end) is looked up as usual but receives no gradient.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt);

// Joins tensors of one dtype, device and rank along dim; their other sizes must agree.
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Joins tensors of one shape along a new dim (dim may be -1 .. rank, counted in the result).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
// Views of x along dim: pieces of split_size (the last may be shorter), or of the given sizes (summing to
// x.size(dim)).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);

}  // namespace trifecta
