// Pooling over NCHW images, with PyTorch's signatures (ceil_mode = false). A stride of {} (the default)
// means the kernel size. Padding may be at most half the kernel on each axis, as in PyTorch.
//
//   OH = (H + 2*padding - dilation*(kernel - 1) - 1) / stride + 1   (likewise OW)
#pragma once

#include <utility>

#include "autograd/ops/conv.h"
#include "tensor/tensor.h"

namespace trifecta {

// The largest element of each window, padding counting as -inf; NaN propagates. The gradient goes to the
// first maximum of each window (in row-major window order), as in PyTorch.
Tensor max_pool2d(const Tensor& x, Size2d kernel_size, Size2d stride = {}, Size2d padding = 0, Size2d dilation = 1);
// Also returns the int64 index (h * W + w within its [H, W] plane) of each window's maximum.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2d kernel_size, Size2d stride = {},
                                                  Size2d padding = 0, Size2d dilation = 1);

// The mean of each window. With count_include_pad the padding counts as zeros in the mean; without, each
// window averages only its real pixels.
Tensor avg_pool2d(const Tensor& x, Size2d kernel_size, Size2d stride = {}, Size2d padding = 0,
                  bool count_include_pad = true);

}  // namespace trifecta
