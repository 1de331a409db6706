// FID-F and KID-F of generated images against a fixed reference set (Fashion-MNIST's test split), with the
// reference's features computed once: a training run scores its generator every --eval-every steps, and
// running the FID-F network over 10,000 test images each time would cost more than the samples' features.
#pragma once

#include "models/classify/feature_net.h"
#include "models/common/image_metrics/image_quality.h"

namespace trifecta::gan {

// A report and the KID subsets it was computed with.
struct SampleScores {
  image_metrics::ImageQuality quality;
  image_metrics::KidOptions kid;
  Json to_json() const { return image_metrics::to_json(quality, kid); }
};

class FidScorer {
 public:
  // reference: images [N, 1, 28, 28] in [0, 1], N >= 2; the FID-F network (models/classify/feature_net.h,
  // its committed weights, verified) runs on device.
  FidScorer(const Tensor& reference, Device device);

  // samples: images [M, 1, 28, 28] in [0, 1], M >= 2. KID's subsets are min(kid_subset_size, N, M) images.
  SampleScores score(const Tensor& samples, int64_t kid_subsets, int64_t kid_subset_size = 1000) const;

  int64_t reference_images() const { return reference_.features.size(0); }
  const classify::FeatureNet& net() const { return net_; }

 private:
  classify::FeatureNet net_;
  classify::FeaturesAndProbabilities reference_;
};

}  // namespace trifecta::gan
