// The `sample` command every generative model binary has: its --count and --format flags, and writing the
// images to <out>/samples.png (an 8-wide grid), samples.safetensors (tensor "images", with the model kind
// and seed in the metadata) or samples.npy, the sets classify fid reads (data/image_set.h).
#pragma once

#include <cstdint>
#include <string>

#include "models/common/flags.h"
#include "tensor/tensor.h"

namespace trifecta {

// Declares --count (default_count) and --format on a sample command.
void add_sample_file_flags(Flags& flags, int64_t default_count);

// --count, checked (1 to 1,000,000) with --format (png, safetensors or npy), both named in errors; call it
// before loading a model so a bad flag fails fast.
int64_t checked_sample_count(const Flags& flags);

// Writes images [N, 1, 28, 28] in [0, 1] to <--out>/samples.<--format> and says so on stdout.
void write_sample_file(const Flags& flags, const Tensor& images, const std::string& model_kind, uint64_t seed);

}  // namespace trifecta
