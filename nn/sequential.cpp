// Sequential: registration under positional names and the chained forward.
#include "nn/sequential.h"

namespace trifecta::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> layers) : UnaryModule("Sequential") {
  for (const auto& layer : layers) push_back(layer);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& layer : layers_) y = layer->forward(y);
  return y;
}

UnaryModule& Sequential::operator[](size_t index) const {
  TRIFECTA_CHECK(index < layers_.size(), "Sequential", "index ", index, " is out of range for ", layers_.size(),
                 " layers");
  return *layers_[index];
}

}  // namespace trifecta::nn
