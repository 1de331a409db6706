// copy_into: the one way data moves between tensors. Any shape-compatible source (broadcasting allowed),
// any dtype pair (converted elementwise), any two devices, any strides on either side. contiguous(),
// clone(), to(dtype), to(device), concat and read-back are all built on it.
#pragma once

#include "tensor/tensor.h"

namespace trifecta {

void copy_into(const Tensor& dst, const Tensor& src);

// The per-device kernel: dst and src on one device, src already expanded to dst's shape.
using CopyKernel = void(const Tensor& dst, const Tensor& src);

}  // namespace trifecta
