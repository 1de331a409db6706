// Image classifiers for 28x28 grayscale pictures (Fashion-MNIST): a multi-layer perceptron and a small
// convolutional network. Both end in a linear layer over a penultimate feature vector, which
// models/classify/feature_net.h exposes as the FID-F feature space.
//
//   mlp: 784 -> hidden1 -> ReLU -> hidden2 -> ReLU -> 10. No normalization layer, so every parameter is a
//        weight matrix or bias of a plain ReLU network, the setting of path-norm / g-SGD style optimizers.
//   cnn: two blocks of [3x3 conv (pad 1), batch norm, ReLU, 2x2 max pool] (32 then 64 channels, 28 -> 14 -> 7),
//        then 3136 -> 128 -> ReLU (the features), dropout, 128 -> 10. Batch norm (Ioffe & Szegedy 2015) lets
//        it train at a high learning rate; dropout (Srivastava et al. 2014) regularizes the classifier head.
//
// Input: images [N, 1, 28, 28] with pixel / 255 in [0, 1]. The network standardizes them itself with the
// Fashion-MNIST training set's pixel mean and standard deviation (kPixelMean, kPixelStd), so every caller
// hands over plain [0, 1] images.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nn/linear.h"
#include "nn/module.h"
#include "nn/sequential.h"
#include "tensor/random.h"

namespace trifecta::classify {

// Over the 60,000 training images, pixel / 255: mean 0.2860, standard deviation 0.3530.
constexpr double kPixelMean = 0.2860, kPixelStd = 0.3530;
constexpr int64_t kClasses = 10;

enum class Architecture { Mlp, Cnn };

struct ClassifierConfig {
  Architecture architecture = Architecture::Cnn;
  int64_t hidden1 = 256, hidden2 = 256;  // mlp widths
  double dropout = 0.3;                  // cnn, before the last layer

  // "classifier-mlp" or "classifier-cnn": what checkpoints record to refuse another model.
  std::string kind() const;
  // From flag values; errors name the flag.
  static ClassifierConfig from_flags(const std::string& architecture, int64_t hidden1, int64_t hidden2, double dropout);
};

class Classifier : public nn::Module {
 public:
  // Parameters get PyTorch's default initialization drawn from init; dropout masks come from noise (each
  // the default generator when null; noise must outlive the model).
  explicit Classifier(const ClassifierConfig& config, Generator* init = nullptr, Generator* noise = nullptr);

  // The penultimate layer's activations, [N, feature_dim()], for images [N, 1, 28, 28] in [0, 1].
  Tensor features(const Tensor& images);
  // Class logits [N, 10] from features.
  Tensor logits_from_features(const Tensor& features);
  Tensor logits(const Tensor& images) { return logits_from_features(features(images)); }

  int64_t feature_dim() const;
  // The mlp's Linear layers from input to output, a ReLU between each two: the chain g-SGD steps
  // (optim/gsgd.h). An Error for the cnn, whose batch norm and pooling are no such chain.
  std::vector<nn::Linear*> relu_chain() const;
  const ClassifierConfig& config() const { return config_; }

 private:
  ClassifierConfig config_;
  std::shared_ptr<nn::Sequential> body_, head_;
};

}  // namespace trifecta::classify
