// Dropout regularization.
#pragma once

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace trifecta {

// Inverted dropout: in training, each element is zeroed with probability p and the survivors are scaled by
// 1 / (1 - p), so the expected output is x; in evaluation (training = false) or with p = 0 the result is x
// itself, and p = 1 gives zeros. p outside [0, 1] is an error. The mask is drawn from generator (the default
// generator when null) and is the same on CPU and CUDA for the same generator state.
Tensor dropout(const Tensor& x, double p, bool training = true, Generator* generator = nullptr);

}  // namespace trifecta
