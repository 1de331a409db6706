// Activations as layers, so Sequential can chain them: PyTorch's nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU,
// nn.SiLU, nn.Sigmoid, nn.Tanh and nn.Softplus over the elementwise ops of autograd/ops/elementwise.h.
#pragma once

#include "nn/module.h"

namespace trifecta::nn {

class ReLU : public UnaryModule {
 public:
  ReLU() : UnaryModule("ReLU") {}
  Tensor forward(const Tensor& x) override { return relu(x); }
};

class LeakyReLU : public UnaryModule {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : UnaryModule("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override { return leaky_relu(x, negative_slope); }
  const double negative_slope;
};

class ELU : public UnaryModule {
 public:
  explicit ELU(double alpha = 1.0) : UnaryModule("ELU"), alpha(alpha) {}
  Tensor forward(const Tensor& x) override { return elu(x, alpha); }
  const double alpha;
};

// The exact form x * Phi(x), or with tanh_approximation Hendrycks & Gimpel's tanh formula (PyTorch's
// approximate="tanh").
class GELU : public UnaryModule {
 public:
  explicit GELU(bool tanh_approximation = false) : UnaryModule("GELU"), tanh_approximation(tanh_approximation) {}
  Tensor forward(const Tensor& x) override { return gelu(x, tanh_approximation); }
  const bool tanh_approximation;
};

class SiLU : public UnaryModule {
 public:
  SiLU() : UnaryModule("SiLU") {}
  Tensor forward(const Tensor& x) override { return silu(x); }
};

class Sigmoid : public UnaryModule {
 public:
  Sigmoid() : UnaryModule("Sigmoid") {}
  Tensor forward(const Tensor& x) override { return sigmoid(x); }
};

class Tanh : public UnaryModule {
 public:
  Tanh() : UnaryModule("Tanh") {}
  Tensor forward(const Tensor& x) override { return tanh(x); }
};

// log(1 + exp(beta x)) / beta, linear above threshold (where the two agree to rounding).
class Softplus : public UnaryModule {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0)
      : UnaryModule("Softplus"), beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) override { return softplus(x, beta, threshold); }
  const double beta;
  const double threshold;
};

}  // namespace trifecta::nn
