// The cuDNN convolution path (conv_cudnn.cpp, built only when CMake finds cuDNN and defines
// TRIFECTA_WITH_CUDNN). conv_cuda.cu tries it first; each function returns false, having done nothing,
// when cuDNN should not take the call, and the hand-written kernels run instead:
//   - the environment sets TRIFECTA_CUDNN=0 (so both paths can be tested on one GPU),
//   - the geometry is not one cuDNN describes (sizes past int, or an output size that does not follow from
//     the input size, which conv_transpose2d's output_padding can make),
//   - cuDNN offers no deterministic algorithm for it, or refuses it otherwise: it cannot start (no usable
//     handle), a call fails, or it has no algorithm for the dtype. Such a refusal is remembered for the
//     geometry (cuDNN is not asked again) and the first one of the process prints one line to stderr; a
//     refusal never throws.
// Float32 convolutions run with FMA math only: cuDNN's default would allow TF32 on Ampere and newer, which
// keeps 10 mantissa bits and would not match the CPU to float32 accuracy.
#pragma once

#include "kernels/conv/conv.h"

namespace trifecta::cudnn {

bool conv2d_forward(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y);
bool conv2d_backward_input(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x);
bool conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight);

}  // namespace trifecta::cudnn
