// Tiling a batch of images into one picture, laid out as torchvision.utils.make_grid does and quantized as
// torchvision.utils.save_image does, so samples saved by trifecta and by PyTorch can be compared side by side.
//
// Images go left to right, nrow to a row, with `padding` pixels of pad_value before each image and after
// the last row and column. pad_value defaults to 0, torchvision's default: black lines between the images.
// Two deliberate differences: a one-channel batch is saved as a grayscale PNG (torchvision repeats the
// channel into RGB; the pixels are the same), and a batch of one image keeps its border (torchvision drops
// the padding then).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

struct ImageGrid {
  int64_t width = 0, height = 0;
  int channels = 0;            // 1 or 3
  std::vector<uint8_t> pixels;  // height rows of width * channels bytes, channels interleaved
};

// images: [N, C, H, W] with C 1 (gray) or 3 (RGB), values in [0, 1] (clamped), any float dtype and device.
// A value v becomes the byte floor(clamp(255 v + 0.5, 0, 255)), as in save_image; NaN becomes 0.
ImageGrid make_image_grid(const Tensor& images, int64_t nrow = 8, int64_t padding = 2, double pad_value = 0.0);
// Writes make_image_grid's picture to a PNG file, atomically.
void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow = 8, int64_t padding = 2,
                     double pad_value = 0.0);

}  // namespace trifecta
