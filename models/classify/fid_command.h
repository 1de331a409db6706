// `classify fid`: FID-F, KID-F and the label entropies of a set of samples (a model's `sample --format
// safetensors|npy` output, say) against a reference set (Fashion-MNIST's test split by default), both scored
// by the versioned FID-F feature network (models/classify/feature_net.h); the metrics themselves are
// models/common/image_metrics/ and docs/metrics.md explains them.
//
//   classify fid --reference test --samples runs/vae/samples.safetensors [--kid-subsets 100 --kid-subset-size 1000
//                --kid-seed 0] [--feature-net PATH] [--batch-size 500] [--device cpu] [--threads 2] [--json]
#pragma once

#include "models/classify/feature_net.h"
#include "models/common/command_line.h"
#include "models/common/image_metrics/image_quality.h"

namespace trifecta::classify {

// Declares the fid command and its flags on cli.
void add_fid_command(CommandLine& cli);

// The report of samples against reference (images [N, 1, 28, 28] in [0, 1]) in net's feature space, the
// network run on batch_size images at a time so memory stays bounded whatever N is. A set of fewer than two
// images or a KID subset larger than either set is an Error naming the flag to change.
image_metrics::ImageQuality score_samples(const FeatureNet& net, const Tensor& reference, const Tensor& samples,
                                          const image_metrics::KidOptions& kid, int64_t batch_size);

// Runs the fid command: prints the report as text, or with --json as one JSON line (image_metrics::to_json
// plus the feature network's version and hash and the two sources).
void run_fid(const Flags& flags);

}  // namespace trifecta::classify
