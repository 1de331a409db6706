// Reductions over any set of dims. An empty dim list means every dim. With keepdim the reduced dims stay
// as size 1 (so the result broadcasts against the input).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Largest/smallest values; the gradient is shared equally among tied extrema (as PyTorch's amax).
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// log(sum(exp(x))) computed without overflow.
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Variance with the given correction (1: unbiased, divides by n - 1; 0: population).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0, bool keepdim = false);
// Index (int64) of the first largest/smallest element along dim; NaN counts as largest.
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
