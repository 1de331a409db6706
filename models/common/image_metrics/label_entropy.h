// What a classifier's predictions say about a set of samples, in nats (natural logarithm):
//   - conditional: the mean over samples of the entropy of each sample's predicted class distribution,
//       H(y | x) = (1/N) sum_i -sum_c p(c | x_i) log p(c | x_i).
//     Low when the classifier is sure about each sample (recognizable, sharp images); log C for noise.
//   - marginal: the entropy of the average prediction, H(y) = -sum_c pbar_c log pbar_c, pbar = (1/N) sum_i p(.|x_i).
//     High when the samples cover the classes evenly (log C at best); low when they collapse onto a few.
//   - inception_score: exp(H(y) - H(y|x)) = exp(E_x KL(p(y|x) || p(y))), the Inception Score of Salimans et
//     al., "Improved Techniques for Training GANs" (NeurIPS 2016), sec. 4, in our classifier's terms (IS-F).
#pragma once

#include <cstdint>
#include <string>

#include "models/common/image_metrics/feature_matrix.h"
#include "tensor/tensor.h"

namespace trifecta::image_metrics {

struct LabelEntropy {
  double conditional = 0;  // H(y|x), nats
  double marginal = 0;     // H(y), nats
  double inception_score = 0;
  int64_t classes = 0;
};

// Rows of probabilities must each be a distribution: entries >= 0, finite, summing to 1 within
// kProbabilitySumTolerance (a float32 softmax is within a few 1e-7). 0 log 0 counts as 0.
constexpr double kProbabilitySumTolerance = 1e-4;
LabelEntropy label_entropy(const Tensor& probabilities, const std::string& what);
LabelEntropy label_entropy(const FeatureMatrix& probabilities, const std::string& what);

}  // namespace trifecta::image_metrics
