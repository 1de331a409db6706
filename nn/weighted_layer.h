// WeightedLayer: a layer whose forward multiplies by a `weight` parameter (Linear, Conv2d, ConvTranspose2d),
// and the hook through which a weight reparametrization such as spectral norm takes over that weight. As in
// PyTorch, the reparametrization re-registers the parameter under a new name (weight_orig) and, on every
// forward, computes from it the tensor the layer actually uses.
#pragma once

#include <cstdint>
#include <memory>

#include "nn/module.h"

namespace trifecta::nn {

class WeightReparametrization {
 public:
  virtual ~WeightReparametrization() = default;
  // The tensor forward uses in place of weight; training tells whether the layer is in training mode.
  virtual Tensor compute(const Tensor& weight, bool training) = 0;
};

class WeightedLayer : public UnaryModule {
 public:
  using UnaryModule::UnaryModule;

  // The trained parameters (bias is undefined in a layer built without one). They stay these tensors under a
  // reparametrization, which only changes the name weight is registered under.
  Tensor weight;
  Tensor bias;

  // The dim of weight that indexes output features: 0 for [out, in, ...] weights (Linear, Conv2d), 1 for
  // ConvTranspose2d's [in, out, kh, kw].
  virtual int64_t output_dim() const { return 0; }

  // What forward multiplies by: weight itself, or what the reparametrization computes from it (which may
  // update the reparametrization's state, as spectral norm's power iteration does in training).
  Tensor effective_weight();
  // Installs a reparametrization (one per layer; a second is an error).
  void reparametrize_weight(std::unique_ptr<WeightReparametrization> reparametrization);
  bool weight_is_reparametrized() const { return reparametrization_ != nullptr; }

 private:
  std::unique_ptr<WeightReparametrization> reparametrization_;
};

}  // namespace trifecta::nn
