// Weight initializers, with torch.nn.init's names, formulas and defaults. Each fills a tensor in place
// without recording autograd (parameters require grad, so they run under no_grad as PyTorch's do), drawing
// from trifecta's Philox generator: the default one, or the one passed. The same generator state gives the
// same numbers on CPU and CUDA, so a seed reproduces a model on either device.
#pragma once

#include <cstdint>
#include <optional>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace trifecta::nn::init {

// The nonlinearity a layer feeds, for the gain that keeps activations' variance steady through it.
// Linear stands for every linear map (identity, linear and all convolutions: gain 1).
enum class Nonlinearity : uint8_t { Linear, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
// Whether kaiming init preserves the variance of activations (fan_in) or of gradients (fan_out).
enum class FanMode : uint8_t { FanIn, FanOut };

// PyTorch's calculate_gain: 1 for Linear and Sigmoid, 5/3 for Tanh, sqrt(2) for ReLU, 3/4 for SELU, and
// sqrt(2 / (1 + slope^2)) for LeakyReLU, where param is the negative slope (0.01 when not given).
double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param = std::nullopt);

// PyTorch's _calculate_fan_in_and_fan_out for a weight of at least 2 dims: with receptive field
// r = product of dims 2.., fan_in = size(1) * r and fan_out = size(0) * r. (For Linear's [out, in] that is
// in and out; for ConvTranspose2d's [in, out, kh, kw] fan_in counts out * kh * kw, as in PyTorch.)
struct Fans {
  int64_t fan_in;
  int64_t fan_out;
};
Fans calculate_fan_in_and_fan_out(const Tensor& weight);

void uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* generator = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);

// Glorot & Bengio 2010 ("Understanding the difficulty of training deep feedforward neural networks", eq. 16):
// std = gain * sqrt(2 / (fan_in + fan_out)); the uniform form draws from U(-sqrt(3) std, sqrt(3) std).
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

// He et al. 2015 ("Delving deep into rectifiers", eq. 10 and 14): std = gain / sqrt(fan), with fan chosen by
// mode and gain = calculate_gain(nonlinearity, a) (a is leaky ReLU's negative slope); the uniform form draws
// from U(-sqrt(3) std, sqrt(3) std).
void kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                      Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* generator = nullptr);
void kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                     Nonlinearity nonlinearity = Nonlinearity::LeakyReLU, Generator* generator = nullptr);

// The default initialization of PyTorch's Linear, Conv2d and ConvTranspose2d (their reset_parameters):
// kaiming_uniform_(weight, a = sqrt(5)), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias (when
// defined) from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in (bound 0 when fan_in is 0).
void default_affine_init_(const Tensor& weight, const Tensor& bias, Generator* generator = nullptr);

}  // namespace trifecta::nn::init
