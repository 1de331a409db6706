// Convolution over NCHW images, with PyTorch's signatures (groups = 1):
//
//   conv2d(x [N, C, H, W], w [O, C, kh, kw], bias [O]) -> [N, O, OH, OW],
//       OH = (H + 2*padding - dilation*(kh - 1) - 1) / stride + 1   (likewise OW)
//   conv_transpose2d(x [N, C, H, W], w [C, O, kh, kw], bias [O]) -> [N, O, OH, OW],
//       OH = (H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1
//
// float32 and float64 compute natively; bfloat16 and float16 operands are converted to float32, convolved,
// and the result rounded back once (so their gradients flow in float32 and round at the operands).
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace trifecta {

// A (height, width) pair of a 2-D attribute. One number sets both, so conv2d(x, w, b, 2, 1) and
// conv2d(x, w, b, {2, 1}, {1, 0}) read as in PyTorch. Default-constructed it is {0, 0}, which the pooling
// ops read as "stride = kernel size" (PyTorch's stride=None).
struct Size2d {
  int64_t h = 0, w = 0;
  Size2d() = default;
  Size2d(int64_t both) : h(both), w(both) {}
  Size2d(int64_t height, int64_t width) : h(height), w(width) {}
};

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2d stride = 1,
              Size2d padding = 0, Size2d dilation = 1);

// The adjoint (gradient) of conv2d with respect to its input, as a layer: it upsamples by stride. Each
// output_padding entry must be smaller than the stride or the dilation of its axis; it resolves which of
// the stride's possible output sizes is meant.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2d stride = 1,
                        Size2d padding = 0, Size2d output_padding = 0, Size2d dilation = 1);

}  // namespace trifecta
