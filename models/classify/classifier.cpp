// The classifier networks (models/classify/classifier.h).
#include "models/classify/classifier.h"

#include <cmath>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/pool.h"

namespace trifecta::classify {

namespace {

constexpr int64_t kSide = 28, kPixels = kSide * kSide;
constexpr int64_t kCnnFeatures = 128;

}  // namespace

std::string ClassifierConfig::kind() const {
  return architecture == Architecture::Mlp ? "classifier-mlp" : "classifier-cnn";
}

ClassifierConfig ClassifierConfig::from_flags(const std::string& architecture, int64_t hidden1, int64_t hidden2,
                                              double dropout) {
  TRIFECTA_CHECK(architecture == "mlp" || architecture == "cnn", "classify --architecture",
                 "expects mlp or cnn, got '", architecture, "'");
  TRIFECTA_CHECK(hidden1 > 0 && hidden1 <= 65536, "classify --hidden1", "expects 1..65536, got ", hidden1);
  TRIFECTA_CHECK(hidden2 > 0 && hidden2 <= 65536, "classify --hidden2", "expects 1..65536, got ", hidden2);
  TRIFECTA_CHECK(std::isfinite(dropout) && dropout >= 0 && dropout < 1, "classify --dropout",
                 "expects a probability in [0, 1), got ", dropout);
  ClassifierConfig c;
  c.architecture = architecture == "mlp" ? Architecture::Mlp : Architecture::Cnn;
  c.hidden1 = hidden1;
  c.hidden2 = hidden2;
  c.dropout = dropout;
  return c;
}

Classifier::Classifier(const ClassifierConfig& config, Generator* init, Generator* noise)
    : nn::Module("Classifier"), config_(config) {
  using namespace nn;
  body_ = register_module("body", std::make_shared<Sequential>());
  head_ = register_module("head", std::make_shared<Sequential>());
  if (config.architecture == Architecture::Mlp) {
    body_->push_back(std::make_shared<Flatten>(1, -1));
    body_->push_back(std::make_shared<Linear>(kPixels, config.hidden1, true, init));
    body_->push_back(std::make_shared<ReLU>());
    body_->push_back(std::make_shared<Linear>(config.hidden1, config.hidden2, true, init));
    body_->push_back(std::make_shared<ReLU>());
    head_->push_back(std::make_shared<Linear>(config.hidden2, kClasses, true, init));
    return;
  }
  // The convolutions' biases would be cancelled by the batch norm's mean subtraction that follows.
  const Conv2dOptions same{.padding = 1, .bias = false};
  body_->push_back(std::make_shared<Conv2d>(1, 32, 3, same, init));
  body_->push_back(std::make_shared<BatchNorm2d>(32));
  body_->push_back(std::make_shared<ReLU>());
  body_->push_back(std::make_shared<MaxPool2d>(2));
  body_->push_back(std::make_shared<Conv2d>(32, 64, 3, same, init));
  body_->push_back(std::make_shared<BatchNorm2d>(64));
  body_->push_back(std::make_shared<ReLU>());
  body_->push_back(std::make_shared<MaxPool2d>(2));
  body_->push_back(std::make_shared<Flatten>(1, -1));
  body_->push_back(std::make_shared<Linear>(64 * 7 * 7, kCnnFeatures, true, init));
  body_->push_back(std::make_shared<ReLU>());
  head_->push_back(std::make_shared<Dropout>(config.dropout, noise));
  head_->push_back(std::make_shared<Linear>(kCnnFeatures, kClasses, true, init));
}

std::vector<nn::Linear*> Classifier::relu_chain() const {
  TRIFECTA_CHECK(config_.architecture == Architecture::Mlp, "classifier",
                 "g-SGD needs the plain ReLU network (--architecture mlp); the cnn's batch norm and max pooling "
                 "break the rescaling invariance it relies on");
  // Where the constructor put them: body = Flatten, Linear, ReLU, Linear, ReLU; head = Linear.
  return {&dynamic_cast<nn::Linear&>((*body_)[1]), &dynamic_cast<nn::Linear&>((*body_)[3]),
          &dynamic_cast<nn::Linear&>((*head_)[0])};
}

Tensor Classifier::features(const Tensor& images) {
  TRIFECTA_CHECK(images.ndim() == 4 && images.size(1) == 1 && images.size(2) == kSide && images.size(3) == kSide,
                 "classifier", "expects images of shape [N, 1, 28, 28], got ", images.str());
  return body_->forward(div(sub(images, kPixelMean), kPixelStd));
}

Tensor Classifier::logits_from_features(const Tensor& features) { return head_->forward(features); }

int64_t Classifier::feature_dim() const {
  return config_.architecture == Architecture::Mlp ? config_.hidden2 : kCnnFeatures;
}

}  // namespace trifecta::classify
