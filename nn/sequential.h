// Sequential: a chain of one-input layers, PyTorch's nn.Sequential. Its children are named "0", "1", ...
// in order, so a state dict reads "0.weight", "2.running_mean" as PyTorch's does.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "nn/module.h"

namespace trifecta::nn {

class Sequential : public UnaryModule {
 public:
  Sequential() : UnaryModule("Sequential") {}
  Sequential(std::initializer_list<std::shared_ptr<UnaryModule>> layers);

  // Appends layer under the next index and returns it (typed, so it can be kept).
  template <class Layer>
  std::shared_ptr<Layer> push_back(std::shared_ptr<Layer> layer) {
    static_assert(std::is_base_of_v<UnaryModule, Layer>, "Sequential chains one-input layers (UnaryModule)");
    TRIFECTA_CHECK(layer != nullptr, "Sequential", "cannot append a null layer");
    register_module(std::to_string(layers_.size()), layer);
    layers_.push_back(layer);
    return layer;
  }

  // Feeds x through every layer in order (the empty chain is the identity).
  Tensor forward(const Tensor& x) override;

  size_t size() const { return layers_.size(); }
  // The layer at index; an error when out of range.
  UnaryModule& operator[](size_t index) const;

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

}  // namespace trifecta::nn
