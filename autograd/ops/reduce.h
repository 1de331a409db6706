// Reductions over any set of dims. An empty dim list means every dim. With keepdim the reduced dims stay
// as size 1 (so the result broadcasts against the input). NaN propagates as in PyTorch: a group holding NaN
// sums, averages, maxes and mins to NaN, and its arg reductions point at its first NaN.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

// The sum; integer and bool tensors sum to int64.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Largest/smallest values (of any dtype; bool amax is "any", amin "all"); the gradient is shared equally
// among tied extrema (as PyTorch's amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// log(sum(exp(x))) computed without overflow; +inf if any element is +inf, -inf if all are -inf. Integer
// inputs compute in float32.
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with the given correction (1: unbiased, divides by n - 1; 0: population); n <= correction
// divides by 0, as in PyTorch.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);
// Standard deviation, sqrt(var). Its gradient where the deviation is 0 (all values equal) is 0, as in
// PyTorch, instead of 0 / 0.
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);

// max(x, dim) and min(x, dim): the largest (smallest) value along dim and its index (int64), the first one
// among ties, the first NaN if there is one (its value is then NaN). The gradient flows to that element
// only. As torch.max(x, dim, keepdim).
struct ValuesAndIndices {
  Tensor values;
  Tensor indices;
};
ValuesAndIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesAndIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
// Index (int64) of the first largest/smallest element along dim; NaN beats every number (for argmin too).
// Not for bool tensors, as in PyTorch.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// Index into the flattened tensor.
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
// Number of NaN/Inf elements (the anomaly check).
int64_t count_nonfinite(const Tensor& x);

// Sums g down to shape (the inverse of broadcasting shape up to g's shape): the gradient of expand.
Tensor sum_to_shape(const Tensor& g, const Shape& shape);

}  // namespace trifecta
