// The FID-F feature network: a fixed, versioned Fashion-MNIST classifier whose penultimate layer is the
// feature space of FID-F and KID-F (the Frechet and kernel inception distances with a Fashion-MNIST network
// in place of Inception, as Heusel et al. 2017 compute FID on Inception's pool3 features). Every machine, CI
// run and PyTorch twin must score with the very same weights, so they are committed to the repository and
// checked by hash on every load; every FID-F figure names the version it used (kFeatureNetVersion).
//
// Version fashion_cnn_v1: the `cnn` classifier of models/classify/classifier.h (features: 128 ReLU units
// after conv-bn-relu-pool x2 and a 3136 -> 128 linear layer), trained by scripts/train_feature_net.sh and
// stored as data/feature_net/fashion_cnn_v1.safetensors (a classify checkpoint without optimizer state;
// safetensors.torch.load_file reads it: model.body.*, model.head.*).
//
// Input: images [N, 1, 28, 28], float32 or float64, pixel / 255 in [0, 1] (what data/fashion_mnist.h loads
// and torchvision's ToTensor gives). The network standardizes them itself, (x - 0.2860) / 0.3530, so callers
// pass plain [0, 1] images. Values outside [0, 1] are an Error: they mean a caller passed logits or
// [-1, 1] images, whose features would be silently wrong.
//
//   FeatureNet net;                                       // the committed weights, verified
//   FeaturesAndProbabilities out = net.compute(images);  // out.features [N, 128], out.probabilities [N, 10]
#pragma once

#include <memory>
#include <string>

#include "models/classify/classifier.h"
#include "models/classify/train.h"
#include "tensor/device.h"

namespace trifecta::classify {

inline constexpr const char* kFeatureNetVersion = "fashion_cnn_v1";
// SHA-256 of data/feature_net/fashion_cnn_v1.safetensors, as scripts/train_feature_net.sh produced it.
extern const char* const kFeatureNetSha256;

// $TRIFECTA_FEATURE_NET when set, else data/feature_net/<version>.safetensors of this source tree.
std::string feature_net_path();

class FeatureNet {
 public:
  // Loads the network at path onto device after checking that the file's SHA-256 is expected_sha256; a
  // different hash is an Error naming the file, both hashes and the version, so no figure is ever computed
  // with other weights.
  explicit FeatureNet(const std::string& path = feature_net_path(), Device device = kCPU,
                      const std::string& expected_sha256 = kFeatureNetSha256);

  // Penultimate features [N, feature_dim()] and class probabilities [N, 10], float32 on the CPU, in eval
  // mode (batch norm on its running statistics, no dropout), batch_size images at a time.
  FeaturesAndProbabilities compute(const Tensor& images, int64_t batch_size = 500) const;

  int64_t feature_dim() const { return model_->feature_dim(); }
  const char* version() const { return kFeatureNetVersion; }
  const std::string& sha256() const { return sha256_; }
  // The classifier itself, for commands that also want its logits (classify predict --feature-net).
  std::shared_ptr<Classifier> model() const { return model_; }

 private:
  std::shared_ptr<Classifier> model_;
  std::string sha256_;
};

}  // namespace trifecta::classify
