// The images `classify predict` and `classify features` read: an IDX file of 28x28 unsigned bytes (gzipped or
// not, as Fashion-MNIST's t10k-images-idx3-ubyte.gz) or a 28x28 PNG (gray, or RGB/RGBA turned to gray).
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace trifecta::classify {

// float32 [N, 1, 28, 28] holding pixel / 255 in [0, 1]. A file of another size or kind is an Error naming it.
Tensor load_input_images(const std::string& path);

}  // namespace trifecta::classify
