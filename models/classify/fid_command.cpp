// The fid command: load both image sets (data/image_set.h), check every flag before the slow part, run the
// feature network on each set in batches, and report image_metrics::image_quality.
#include "models/classify/fid_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "data/image_set.h"
#include "models/common/dataset_flags.h"
#include "models/common/runtime.h"
#include "tensor/error.h"

namespace trifecta::classify {

namespace {

using image_metrics::KidOptions;

constexpr const char* kCommand = "classify fid";

KidOptions kid_options(const Flags& flags) {
  const int64_t subsets = flags.get_int("kid-subsets"), subset_size = flags.get_int("kid-subset-size");
  const int64_t seed = flags.get_int("kid-seed");
  TRIFECTA_CHECK(subsets >= 1, kCommand, "--kid-subsets must be at least 1, got ", subsets);
  TRIFECTA_CHECK(subset_size >= 2, kCommand, "--kid-subset-size must be at least 2, got ", subset_size);
  TRIFECTA_CHECK(seed >= 0, kCommand, "--kid-seed must not be negative, got ", seed);
  return {.subsets = subsets, .subset_size = subset_size, .seed = static_cast<uint64_t>(seed)};
}

Tensor load_set(const Flags& flags, const std::string& which) {
  const std::string source = flags.get_string(which);
  TRIFECTA_CHECK(!source.empty(), std::string(kCommand) + " --" + which,
                 "names no image set; give train, test, a .npy or a .safetensors file");
  const int64_t limit = flags.get_int(which + "-limit");
  TRIFECTA_CHECK(limit == -1 || limit >= 1, std::string(kCommand) + " --" + which + "-limit",
                 "must be -1 (every image) or at least 1, got ", limit);
  return load_image_set(source, {.data_directory = flags.get_string("data-dir"), .limit = limit});
}

void print_text(const Flags& flags, const FeatureNet& net, const image_metrics::ImageQuality& q, const KidOptions& kid) {
  std::printf("feature net          %s (sha256 %s)\n", net.version(), net.sha256().c_str());
  std::printf("reference            %s: %lld images\n", flags.get_string("reference").c_str(),
              static_cast<long long>(q.reference_images));
  std::printf("samples              %s: %lld images\n", flags.get_string("samples").c_str(),
              static_cast<long long>(q.sample_images));
  std::printf("FID-F                %.6f\n", q.fid);
  std::printf("KID-F                %.6f +- %.6f (%lld subsets of %lld)\n", q.kid.mean, q.kid.std,
              static_cast<long long>(kid.subsets), static_cast<long long>(kid.subset_size));
  std::printf("H(y|x)               %.4f nats\n", q.labels.conditional);
  std::printf("H(y)                 %.4f nats (at most ln %lld = %.4f)\n", q.labels.marginal,
              static_cast<long long>(q.labels.classes), std::log(static_cast<double>(q.labels.classes)));
  std::printf("IS-F                 %.4f\n", q.labels.inception_score);
}

}  // namespace

void add_fid_command(CommandLine& cli) {
  Flags& flags = cli.add_command("fid", "FID-F, KID-F and label entropies of --samples against --reference, "
                                        "scored by the FID-F feature network");
  flags.add_string("reference", "test", "the reference images: train, test, a .npy or a .safetensors file [N, 1, 28, 28] in [0, 1]");
  flags.add_string("samples", "", "the images to score, as --reference (e.g. runs/vae/samples.safetensors from vae sample)");
  flags.add_int("reference-limit", -1, "use only the first N reference images (-1: all)");
  flags.add_int("samples-limit", -1, "use only the first N sample images (-1: all)");
  add_data_dir_flag(flags);  // where --reference/--samples train and test are read
  flags.add_string("feature-net", "", std::string("the FID-F network's file (empty: ") + feature_net_path() +
                                          "); its SHA-256 must be " + kFeatureNetVersion + "'s");
  flags.add_int("kid-subsets", 100, "KID-F: how many random subset pairs to average over");
  flags.add_int("kid-subset-size", 1000, "KID-F: images per subset, at most the smaller set's size");
  flags.add_int("kid-seed", 0, "KID-F: the seed of the subsets' Philox draws");
  flags.add_int("batch-size", 500, "images the feature network runs on at once (bounds the memory)");
  flags.add_bool("json", false, "print one JSON line instead of text");
  add_runtime_flags(flags);
}

image_metrics::ImageQuality score_samples(const FeatureNet& net, const Tensor& reference, const Tensor& samples,
                                          const KidOptions& kid, int64_t batch_size) {
  TRIFECTA_CHECK(batch_size >= 1, kCommand, "--batch-size must be at least 1, got ", batch_size);
  // The covariances need two images per set (they divide by N - 1) and each KID subset draws without
  // replacement, so these are the sets' real lower bounds.
  for (const auto& [set, name] : {std::pair{&reference, "reference"}, std::pair{&samples, "samples"}}) {
    check_image_set(*set, std::string(kCommand) + " --" + name);
    TRIFECTA_CHECK(set->size(0) >= 2, std::string(kCommand) + " --" + name,
                   "holds 1 image; the covariance of FID-F needs at least 2");
  }
  const int64_t smaller = std::min(reference.size(0), samples.size(0));
  TRIFECTA_CHECK(kid.subset_size <= smaller, kCommand, "--kid-subset-size ", kid.subset_size,
                 " exceeds the smaller set (", reference.size(0), " reference, ", samples.size(0),
                 " sample images); pass --kid-subset-size ", smaller, " or less");
  const FeaturesAndProbabilities r = net.compute(reference, batch_size);
  const FeaturesAndProbabilities s = net.compute(samples, batch_size);
  return image_metrics::image_quality(r.features, s.features, s.probabilities, kid);
}

void run_fid(const Flags& flags) {
  apply_threads(flags);
  const KidOptions kid = kid_options(flags);
  const int64_t batch_size = flags.get_int("batch-size");
  const Tensor reference = load_set(flags, "reference");
  const Tensor samples = load_set(flags, "samples");
  const std::string path = flags.get_string("feature-net");
  const FeatureNet net(path.empty() ? feature_net_path() : path, select_device(flags));
  const image_metrics::ImageQuality q = score_samples(net, reference, samples, kid, batch_size);
  if (!flags.get_bool("json")) return print_text(flags, net, q, kid);
  Json report = image_metrics::to_json(q, kid);
  report["feature_net"] = net.version();
  report["feature_net_sha256"] = net.sha256();
  report["reference"] = flags.get_string("reference");
  report["samples"] = flags.get_string("samples");
  std::printf("%s\n", json::dump(report, kCommand).c_str());
}

}  // namespace trifecta::classify
