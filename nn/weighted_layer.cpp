// WeightedLayer: the weight a layer's forward uses, with or without a reparametrization.
#include "nn/weighted_layer.h"

namespace trifecta::nn {

Tensor WeightedLayer::effective_weight() {
  return reparametrization_ ? reparametrization_->compute(weight, is_training()) : weight;
}

void WeightedLayer::reparametrize_weight(std::unique_ptr<WeightReparametrization> reparametrization) {
  TRIFECTA_CHECK(reparametrization != nullptr, type_name(), "null weight reparametrization");
  TRIFECTA_CHECK(reparametrization_ == nullptr, type_name(), "the weight is already reparametrized");
  reparametrization_ = std::move(reparametrization);
}

}  // namespace trifecta::nn
