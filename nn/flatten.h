// Reshaping layers for Sequential: PyTorch's nn.Flatten and nn.Unflatten (views when the strides allow).
#pragma once

#include <cstdint>
#include <vector>

#include "nn/module.h"

namespace trifecta::nn {

// Merges dims start_dim..end_dim (negative counts from the end) into one; the default keeps the batch dim.
class Flatten : public UnaryModule {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : UnaryModule("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim, end_dim); }
  const int64_t start_dim;
  const int64_t end_dim;
};

// Splits dim (negative counts from the end) into sizes, whose product must equal its size; one entry may be
// -1 and is then inferred.
class Unflatten : public UnaryModule {
 public:
  Unflatten(int64_t dim, std::vector<int64_t> sizes);
  Tensor forward(const Tensor& x) override;
  const int64_t dim;
  const std::vector<int64_t> sizes;
};

}  // namespace trifecta::nn
