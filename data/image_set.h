// Image sets for the image-quality metrics (models/common/image_metrics/): N grayscale 28x28 images with
// values in [0, 1], as float32 [N, 1, 28, 28], read from any of
//   - "train" or "test": a Fashion-MNIST split (data/fashion_mnist.h);
//   - a .npy file ('<f4', '<f8', or '|u1' bytes, which are divided by 255 as Fashion-MNIST's are);
//   - a .safetensors file: its only tensor, or the one named by ImageSetOptions::tensor (F32, F64, F16, BF16).
// A model binary's `sample --format npy|safetensors` writes such files (safetensors tensor "images").
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace trifecta {

struct ImageSetOptions {
  std::string tensor = {};          // which tensor of a .safetensors file holding several
  std::string data_directory = {};  // Fashion-MNIST's directory (empty: data/fashion_mnist.h's fallbacks)
  int64_t limit = -1;               // keep only the first `limit` images (all when negative)
};

// The images of source as float32 [N, 1, 28, 28] on the CPU. A wrong shape, a value outside [0, 1] (NaN
// included), an empty set, an unknown file kind, or a tensor name that is missing or not needed is an
// Error naming the source and what is wrong.
Tensor load_image_set(const std::string& source, const ImageSetOptions& options = {});

// Checks that images (any floating dtype and device) is [N, 1, 28, 28] with N >= 1 and every value in
// [0, 1]; errors name `what` and, for a bad value, its position.
void check_image_set(const Tensor& images, const std::string& what);

}  // namespace trifecta
