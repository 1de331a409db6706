// Normalization layers: PyTorch's nn.BatchNorm1d, nn.BatchNorm2d and nn.LayerNorm, with their parameter and
// buffer names (weight, bias, running_mean, running_var, num_batches_tracked) and default initialization.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nn/module.h"

namespace trifecta::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  // The running statistics' update weight: running = (1 - momentum) * running + momentum * batch statistic.
  // Without a value the running statistics are the cumulative average of every batch seen (momentum
  // 1 / num_batches_tracked), as PyTorch's momentum=None.
  std::optional<double> momentum = 0.1;
  bool affine = true;               // learnable weight (ones) and bias (zeros) per channel
  bool track_running_stats = true;  // keep running_mean (zeros), running_var (ones), num_batches_tracked (0)
};

// Ioffe & Szegedy 2015 ("Batch Normalization", Algorithm 1): in training, each channel is normalized by the
// batch's mean and biased variance, and the running statistics follow the batch's mean and unbiased
// variance; in evaluation the running statistics normalize. A layer that tracks no running statistics uses
// the batch's in both modes.
class BatchNorm : public UnaryModule {
 public:
  Tensor forward(const Tensor& x) override;

  const int64_t num_features;
  const BatchNormOptions options;
  Tensor weight, bias;                                      // [C] when affine
  Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], int64 [] when tracking

 protected:
  // ranks lists the input ranks this layer accepts, described as expected_input for errors.
  BatchNorm(const char* type_name, int64_t num_features, BatchNormOptions options, std::vector<int> ranks,
            const char* expected_input);

 private:
  std::vector<int> ranks_;
  const char* expected_input_;
};

// Over [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {});
};

// Over [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {});
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (ones) of normalized_shape
  bool bias = true;                // and, with it, a learnable bias (zeros)
};

// Ba, Kiros & Hinton 2016 ("Layer Normalization", eq. 4): each slice over the last dims (normalized_shape)
// of the input is normalized by its own mean and biased variance, the same in training and evaluation.
class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(Shape normalized_shape, LayerNormOptions options = {});
  Tensor forward(const Tensor& x) override;

  const Shape normalized_shape;
  const LayerNormOptions options;
  Tensor weight, bias;
};

}  // namespace trifecta::nn
