// 2-D convolution (NCHW, cross-correlation as in every DL framework): the geometry both devices share and
// the kernel signatures. With x [N, C, H, W], w [O, C, kh, kw] and
//
//   y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * x[n, c, i*sh - ph + p*dh, j*sw - pw + q*dw]
//
// (x read as zero outside the image), each image's convolution is one matrix product once its patches are
// unrolled: im2col turns x[n] into col [K = C*kh*kw, P = OH*OW] with col[(c, p, q), (i, j)] the x element
// above, and then y[n] = W @ col with W viewed as [O, K] (Chellapilla et al., "High Performance
// Convolutional Neural Networks for Document Processing", 2006). The two gradients are the two other
// products of the same matrices:
//
//   grad col = W^T @ grad y[n]        then col2im adds each col entry back onto the x element it came from
//   grad W   = sum_n grad y[n] @ col[n]^T
#pragma once

#include <cstdint>

#include "tensor/half.h"
#include "tensor/tensor.h"

namespace trifecta {

// Every size of one convolution. The output size is a field, not derived: the usual
// out = (in + 2*pad - dilation*(kernel-1) - 1) / stride + 1 holds for conv2d, but conv_transpose2d runs the
// input-gradient kernel with an output_padding that may leave input rows no output reads (they get zero
// gradient), so the kernels take out_h/out_w as given.
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;  // x: [batch, in_channels, in_h, in_w]
  int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;    // w: [out_channels, in_channels, kernel_h, kernel_w]
  int64_t out_h = 0, out_w = 0;                            // y: [batch, out_channels, out_h, out_w]
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;

  TRIFECTA_HD int64_t patch_size() const { return in_channels * kernel_h * kernel_w; }  // K: rows of col
  TRIFECTA_HD int64_t out_pixels() const { return out_h * out_w; }                      // P: columns of col
  TRIFECTA_HD int64_t in_pixels() const { return in_h * in_w; }
  // A 1x1 kernel with unit stride and no padding reads each pixel once in place: col is x[n] itself.
  TRIFECTA_HD bool col_is_input() const {
    return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 &&
           out_h == in_h && out_w == in_w;
  }
};

// All tensors contiguous, float32 or float64, on one device (the front end converts 16-bit types to float32).
// Outputs are overwritten. bias may be undefined.
using Conv2dKernel = void(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias,
                          const Tensor& y);
using Conv2dBackwardInputKernel = void(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight,
                                       const Tensor& grad_x);
using Conv2dBackwardWeightKernel = void(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y,
                                        const Tensor& grad_weight);

}  // namespace trifecta
