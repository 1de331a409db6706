// The reference features, computed once, and the image-quality report of each set of samples against them.
#include "models/gan/fid_scorer.h"

#include <algorithm>

#include "data/image_set.h"

namespace trifecta::gan {

FidScorer::FidScorer(const Tensor& reference, Device device) : net_(classify::feature_net_path(), device) {
  check_image_set(reference, "gan FID-F reference");
  TRIFECTA_CHECK(reference.size(0) >= 2, "gan FID-F reference", "needs at least 2 images (--test-limit), got ",
                 reference.size(0));
  reference_ = net_.compute(reference);
}

SampleScores FidScorer::score(const Tensor& samples, int64_t kid_subsets, int64_t kid_subset_size) const {
  check_image_set(samples, "gan FID-F samples");
  TRIFECTA_CHECK(samples.size(0) >= 2, "gan FID-F samples", "needs at least 2 images, got ", samples.size(0));
  TRIFECTA_CHECK(kid_subsets >= 1, "gan --kid-subsets", "must be at least 1, got ", kid_subsets);
  TRIFECTA_CHECK(kid_subset_size >= 2, "gan --kid-subset-size", "must be at least 2, got ", kid_subset_size);
  const classify::FeaturesAndProbabilities s = net_.compute(samples);
  const int64_t subset = std::min({kid_subset_size, samples.size(0), reference_images()});
  const image_metrics::KidOptions kid{.subsets = kid_subsets, .subset_size = subset, .seed = 0};
  return {image_metrics::image_quality(reference_.features, s.features, s.probabilities, kid), kid};
}

}  // namespace trifecta::gan
