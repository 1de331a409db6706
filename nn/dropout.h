// Dropout as a layer: active in training mode, the identity in evaluation (PyTorch's nn.Dropout).
#pragma once

#include "nn/module.h"
#include "tensor/random.h"

namespace trifecta::nn {

// Srivastava et al. 2014 ("Dropout", section 4), in the inverted form: survivors are scaled by 1 / (1 - p)
// in training so that evaluation needs no rescaling.
class Dropout : public UnaryModule {
 public:
  // Masks are drawn from generator (the default generator when null), which must outlive the layer.
  explicit Dropout(double p = 0.5, Generator* generator = nullptr)
      : UnaryModule("Dropout"), p(p), generator_(generator) {
    TRIFECTA_CHECK(p >= 0.0 && p <= 1.0, "Dropout", "p must lie in [0, 1], got ", p);
  }
  Tensor forward(const Tensor& x) override { return dropout(x, p, is_training(), generator_); }

  const double p;

 private:
  Generator* generator_;
};

}  // namespace trifecta::nn
