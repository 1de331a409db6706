// Loading the versioned FID-F feature network (models/classify/feature_net.h) and computing its features.
#include "models/classify/feature_net.h"

#include <cstdlib>
#include <filesystem>

#include "models/common/sha256.h"

namespace trifecta::classify {

const char* const kFeatureNetSha256 = "50f879f3c496ecaeafd898acd21de1f3f6c3ba48b7f07c14003df95f5f8b44c1";

std::string feature_net_path() {
  if (const char* path = std::getenv("TRIFECTA_FEATURE_NET"); path && *path) return path;
  return (std::filesystem::path(TRIFECTA_SOURCE_DIR) / "data" / "feature_net" /
          (std::string(kFeatureNetVersion) + ".safetensors"))
      .string();
}

FeatureNet::FeatureNet(const std::string& path, Device device, const std::string& expected_sha256) {
  const std::string who = std::string("feature network ") + kFeatureNetVersion;
  TRIFECTA_CHECK(std::filesystem::is_regular_file(path), who, "no weights file at ", path,
                 " (it is committed as data/feature_net/", kFeatureNetVersion,
                 ".safetensors; $TRIFECTA_FEATURE_NET overrides the path)");
  sha256_ = sha256_hex_of_file(path);
  TRIFECTA_CHECK(sha256_ == expected_sha256, who, path, " has SHA-256 ", sha256_, " but version ",
                 kFeatureNetVersion, " is ", expected_sha256,
                 ": these are other weights, and FID-F figures computed with them would not be comparable. "
                 "Restore the committed file (git checkout data/feature_net), or record a new version");
  model_ = load_classifier(path);
  model_->to(device);
}

FeaturesAndProbabilities FeatureNet::compute(const Tensor& images, int64_t batch_size) const {
  const std::string who = std::string("feature network ") + kFeatureNetVersion;
  TRIFECTA_CHECK(images.ndim() == 4 && images.size(1) == 1 && images.size(2) == 28 && images.size(3) == 28, who,
                 "expects images [N, 1, 28, 28], got ", images.str());
  TRIFECTA_CHECK(images.dtype() == DType::Float32 || images.dtype() == DType::Float64, who,
                 "expects float32 or float64 images, got ", images.str());
  if (images.numel() > 0) {
    const double low = amin(images).item<double>(), high = amax(images).item<double>();
    TRIFECTA_CHECK(low >= 0.0 && high <= 1.0, who, "expects pixel values in [0, 1] (pixel / 255), got values in [",
                   low, ", ", high, "]");
  }
  return features_and_probabilities(*model_, images, batch_size);
}

}  // namespace trifecta::classify
