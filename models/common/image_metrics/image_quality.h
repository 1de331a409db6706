// The image-quality report of a set of samples against a reference set (Fashion-MNIST's test split, say),
// from a feature network's outputs on both: FID-F (frechet_distance.h), KID-F (kernel_inception_distance.h)
// and the label entropies of the samples (label_entropy.h). A `fid` command loads two image sets
// (data/image_set.h), runs the classifier on them, and prints this.
#pragma once

#include "models/common/image_metrics/kernel_inception_distance.h"
#include "models/common/image_metrics/label_entropy.h"
#include "tensor/json.h"

namespace trifecta::image_metrics {

struct ImageQuality {
  int64_t reference_images = 0, sample_images = 0, features = 0;
  double fid = 0;
  KidResult kid;
  LabelEntropy labels;  // of the samples
};

// reference_features [N, F], sample_features [M, F], sample_probabilities [M, C].
ImageQuality image_quality(const Tensor& reference_features, const Tensor& sample_features,
                           const Tensor& sample_probabilities, const KidOptions& kid = {});

// {"fid": .., "kid_mean": .., "kid_std": .., "kid_subsets": .., "kid_subset_size": .., "entropy_conditional": ..,
//  "entropy_marginal": .., "inception_score": .., "reference_images": .., "sample_images": .., "features": ..}
Json to_json(const ImageQuality& quality, const KidOptions& kid);

}  // namespace trifecta::image_metrics
