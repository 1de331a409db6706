// Pooling as a layer, so Sequential can chain it: PyTorch's nn.MaxPool2d over the functional form in
// autograd/ops/pool.h (a stride of {} means the kernel size).
#pragma once

#include "nn/module.h"

namespace trifecta::nn {

class MaxPool2d : public UnaryModule {
 public:
  explicit MaxPool2d(Size2d kernel_size, Size2d stride = {}, Size2d padding = 0)
      : UnaryModule("MaxPool2d"), kernel_size(kernel_size), stride(stride), padding(padding) {}
  Tensor forward(const Tensor& x) override { return max_pool2d(x, kernel_size, stride, padding); }

  const Size2d kernel_size, stride, padding;
};

}  // namespace trifecta::nn
