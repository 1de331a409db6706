// Normalization layers' functional forms, with PyTorch's semantics.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

// Normalizes over the last normalized_shape.size() dims of x (which must equal normalized_shape): each such
// slice gets mean 0 and variance 1 (biased variance, eps added before the square root), then
// y = xhat * weight + bias. weight and bias have shape normalized_shape and x's dtype, or are undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// Normalizes x [N, C] or [N, C, *] per channel C. Training uses the batch's mean and biased variance and,
// when running_mean and running_var ([C]) are given, updates them in place (not recorded by autograd):
// running = (1 - momentum) * running + momentum * batch statistic, with the unbiased variance. Eval uses the
// running statistics, which must then be given. weight and bias are [C] or undefined. Running statistics
// have x's dtype, or float32 when x is 16-bit.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), bool training = false,
                  double momentum = 0.1, double eps = 1e-5);

}  // namespace trifecta
