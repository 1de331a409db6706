// Linear: the affine map y = x W^T + b of PyTorch's nn.Linear, over the last dim of x.
#pragma once

#include <cstdint>

#include "nn/weighted_layer.h"
#include "tensor/random.h"

namespace trifecta::nn {

class Linear : public WeightedLayer {
 public:
  // weight [out_features, in_features] and bias [out_features], initialized as PyTorch's
  // (init::default_affine_init_) from generator (the default generator when null).
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* generator = nullptr);

  // x [..., in_features] -> [..., out_features].
  Tensor forward(const Tensor& x) override;

  const int64_t in_features;
  const int64_t out_features;
};

}  // namespace trifecta::nn
