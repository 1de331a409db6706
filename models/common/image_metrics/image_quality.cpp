// The three metrics on one pair of feature sets.
#include "models/common/image_metrics/image_quality.h"

#include "models/common/image_metrics/frechet_distance.h"
#include "tensor/error.h"

namespace trifecta::image_metrics {

ImageQuality image_quality(const Tensor& reference_features, const Tensor& sample_features,
                           const Tensor& sample_probabilities, const KidOptions& kid) {
  const FeatureMatrix reference = feature_matrix(reference_features, "image_quality: reference features", 2);
  const FeatureMatrix samples = feature_matrix(sample_features, "image_quality: sample features", 2);
  const FeatureMatrix probabilities = feature_matrix(sample_probabilities, "image_quality: sample probabilities", 1);
  TRIFECTA_CHECK(probabilities.rows == samples.rows, "image_quality", "sample features have ", samples.rows,
                 " rows but the sample probabilities ", probabilities.rows);
  ImageQuality q;
  q.reference_images = reference.rows;
  q.sample_images = samples.rows;
  q.features = reference.cols;
  q.fid = frechet_distance(feature_statistics(reference, "image_quality: reference features"),
                           feature_statistics(samples, "image_quality: sample features"));
  q.kid = kernel_inception_distance(reference, samples, kid);
  q.labels = label_entropy(probabilities, "image_quality: sample probabilities");
  return q;
}

Json to_json(const ImageQuality& q, const KidOptions& kid) {
  return Json{{"fid", q.fid},
              {"kid_mean", q.kid.mean},
              {"kid_std", q.kid.std},
              {"kid_subsets", kid.subsets},
              {"kid_subset_size", kid.subset_size},
              {"entropy_conditional", q.labels.conditional},
              {"entropy_marginal", q.labels.marginal},
              {"inception_score", q.labels.inception_score},
              {"reference_images", q.reference_images},
              {"sample_images", q.sample_images},
              {"features", q.features}};
}

}  // namespace trifecta::image_metrics
