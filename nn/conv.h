// Convolution layers over NCHW images: PyTorch's nn.Conv2d and nn.ConvTranspose2d (groups = 1, zero
// padding). The functional forms and their output-size formulas are in autograd/ops/conv.h.
#pragma once

#include <cstdint>

#include "autograd/ops/conv.h"
#include "nn/weighted_layer.h"
#include "tensor/random.h"

namespace trifecta::nn {

// Conv2d(1, 32, 4, {.stride = 2, .padding = 1}) reads like PyTorch's keyword arguments.
struct Conv2dOptions {
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d dilation = 1;
  bool bias = true;
};

struct ConvTranspose2dOptions {
  Size2d stride = 1;
  Size2d padding = 0;
  Size2d output_padding = 0;
  Size2d dilation = 1;
  bool bias = true;
};

class Conv2d : public WeightedLayer {
 public:
  // weight [out_channels, in_channels, kh, kw], bias [out_channels]; PyTorch's default initialization
  // (init::default_affine_init_) from generator (the default generator when null).
  Conv2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size, Conv2dOptions options = {},
         Generator* generator = nullptr);

  // x [N, in_channels, H, W] -> [N, out_channels, OH, OW].
  Tensor forward(const Tensor& x) override;

  const int64_t in_channels;
  const int64_t out_channels;
  const Size2d kernel_size;
  const Conv2dOptions options;
};

class ConvTranspose2d : public WeightedLayer {
 public:
  // weight [in_channels, out_channels, kh, kw] (so fan_in, read from dim 1, is out_channels * kh * kw, as in
  // PyTorch), bias [out_channels]; PyTorch's default initialization from generator.
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size, ConvTranspose2dOptions options = {},
                  Generator* generator = nullptr);

  // x [N, in_channels, H, W] -> [N, out_channels, OH, OW].
  Tensor forward(const Tensor& x) override;
  int64_t output_dim() const override { return 1; }

  const int64_t in_channels;
  const int64_t out_channels;
  const Size2d kernel_size;
  const ConvTranspose2dOptions options;
};

}  // namespace trifecta::nn
