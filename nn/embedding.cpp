// Embedding: the table, its initialization and the lookup.
#include "nn/embedding.h"

#include "nn/init.h"

namespace trifecta::nn {

namespace {

std::optional<int64_t> resolve_padding_idx(std::optional<int64_t> padding_idx, int64_t num_embeddings) {
  if (!padding_idx) return padding_idx;
  TRIFECTA_CHECK(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings, "Embedding", "padding_idx ",
                 *padding_idx, " is outside [", -num_embeddings, ", ", num_embeddings, ")");
  return *padding_idx < 0 ? *padding_idx + num_embeddings : *padding_idx;
}

}  // namespace

Embedding::Embedding(int64_t num, int64_t dim, std::optional<int64_t> padding, Generator* generator)
    : UnaryModule("Embedding"), num_embeddings(num), embedding_dim(dim),
      padding_idx(resolve_padding_idx(padding, num)) {
  TRIFECTA_CHECK(num > 0 && dim > 0, "Embedding", "num_embeddings and embedding_dim must be positive, got ", num,
                 " and ", dim);
  weight = register_parameter("weight", empty({num, dim}));
  init::normal_(weight, 0.0, 1.0, generator);
  if (padding_idx) init::zeros_(weight.detach().select(0, *padding_idx));
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices, padding_idx); }

}  // namespace trifecta::nn
