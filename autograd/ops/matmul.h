// Matrix products.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

// The product of a and b with PyTorch's (and NumPy's) matmul semantics:
//   1-D · 1-D    dot product, a 0-dim result
//   2-D · 2-D    matrix product
//   1-D · N-D    a is treated as a [1, K] matrix; that dim is removed from the result
//   N-D · 1-D    b is treated as a [K, 1] matrix; that dim is removed from the result
//   N-D · N-D    a batch of matrix products over the leading dims, which broadcast against each other
// Both operands must share one floating dtype and one device.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace trifecta
