// Vector quantization: the nearest dictionary entry of each feature vector.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

// For features [M, C] and codebook [K, C] (one floating dtype, one device, K >= 1): the int64 index [M] of
// the entry nearest to each feature row in squared Euclidean distance, argmin_k sum_c (h_c - e_kc)^2. Ties
// go to the lower index and a NaN distance wins, as torch.argmin over the row of distances decides
// (kernels/quantize/quantize_ops.h has the details). Any layout; 16-bit inputs are compared in float.
// An index has no gradient: the output never requires grad, and no graph is recorded.
Tensor nearest_code(const Tensor& features, const Tensor& codebook);

}  // namespace trifecta
