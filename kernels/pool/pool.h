// 2-D pooling (NCHW): the geometry both devices share and the kernel signatures. Every (n, c) plane pools
// on its own: output (i, j) looks at the window of taps (p, q), p < kernel_h, q < kernel_w, at input
//
//   h = i*stride_h - pad_h + p*dilation_h,   w = j*stride_w - pad_w + q*dilation_w
//
// Max pooling treats padding as -inf (it never wins) and also returns, per output, the flat index h*in_w + w
// of the maximum in its plane (PyTorch's convention), which is all its backward needs. Average pooling has
// no dilation; its divisor is the whole window when count_include_pad (padding counts as zeros), else the
// number of real pixels in it.
#pragma once

#include <cstdint>

#include "tensor/half.h"
#include "tensor/tensor.h"

namespace trifecta {

struct PoolGeometry {
  int64_t planes = 0;  // batch * channels
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;

  TRIFECTA_HD int64_t in_pixels() const { return in_h * in_w; }
  TRIFECTA_HD int64_t out_pixels() const { return out_h * out_w; }
};

// All tensors contiguous NCHW on one device; x, y and the gradients share a floating dtype, indices are
// int64 with y's shape. Outputs are overwritten.
using MaxPool2dKernel = void(const PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices);
using MaxPool2dBackwardKernel = void(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices,
                                     const Tensor& grad_x);
using AvgPool2dKernel = void(const PoolGeometry& g, bool count_include_pad, const Tensor& x, const Tensor& y);
using AvgPool2dBackwardKernel = void(const PoolGeometry& g, bool count_include_pad, const Tensor& grad_y,
                                     const Tensor& grad_x);

}  // namespace trifecta
