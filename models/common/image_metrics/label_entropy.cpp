// Entropies of a classifier's predictions.
#include "models/common/image_metrics/label_entropy.h"

#include <cmath>

#include "tensor/error.h"

namespace trifecta::image_metrics {

namespace {

double entropy(const double* p, int64_t classes) {
  double h = 0;
  for (int64_t c = 0; c < classes; ++c)
    if (p[c] > 0) h -= p[c] * std::log(p[c]);
  return h;
}

}  // namespace

LabelEntropy label_entropy(const Tensor& probabilities, const std::string& what) {
  return label_entropy(feature_matrix(probabilities, what, 1), what);
}

LabelEntropy label_entropy(const FeatureMatrix& p, const std::string& what) {
  TRIFECTA_CHECK(p.rows >= 1, what, "holds no predictions");
  std::vector<double> average(static_cast<size_t>(p.cols), 0.0);
  LabelEntropy result;
  result.classes = p.cols;
  for (int64_t i = 0; i < p.rows; ++i) {
    double total = 0;
    for (int64_t c = 0; c < p.cols; ++c) {
      TRIFECTA_CHECK(p.at(i, c) >= 0, what, "row ", i, " has a negative probability ", p.at(i, c), " for class ", c,
                     " (pass probabilities, not logits)");
      total += p.at(i, c);
      average[c] += p.at(i, c);
    }
    TRIFECTA_CHECK(std::abs(total - 1.0) <= kProbabilitySumTolerance, what, "row ", i, " sums to ", total,
                   ", not 1 (pass softmax probabilities, not logits)");
    result.conditional += entropy(p.row(i), p.cols);
  }
  const double n = static_cast<double>(p.rows);
  result.conditional /= n;
  for (double& a : average) a /= n;
  result.marginal = entropy(average.data(), p.cols);
  result.inception_score = std::exp(result.marginal - result.conditional);
  return result;
}

}  // namespace trifecta::image_metrics
