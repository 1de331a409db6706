// Embedding: a lookup table of num_embeddings vectors, PyTorch's nn.Embedding.
#pragma once

#include <cstdint>
#include <optional>

#include "nn/module.h"
#include "tensor/random.h"

namespace trifecta::nn {

class Embedding : public UnaryModule {
 public:
  // weight [num_embeddings, embedding_dim] drawn from N(0, 1) (generator, or the default one when null), as
  // PyTorch's. The padding_idx row (negative counts from the end) starts at zero and receives no gradient,
  // so it stays zero through training.
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt,
            Generator* generator = nullptr);

  // int64 indices of any shape -> indices.shape + [embedding_dim].
  Tensor forward(const Tensor& indices) override;

  const int64_t num_embeddings;
  const int64_t embedding_dim;
  const std::optional<int64_t> padding_idx;  // in [0, num_embeddings) once constructed
  Tensor weight;
};

}  // namespace trifecta::nn
