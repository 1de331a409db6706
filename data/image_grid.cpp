// Image grids: layout and quantization to bytes; encoding is png.cpp's.
#include "data/image_grid.h"

#include <algorithm>
#include <cmath>

#include "data/png.h"

namespace trifecta {

namespace {

// In float32, one rounding per step, as torchvision's mul(255).add_(0.5).clamp_(0, 255).to(uint8) does it,
// so that values on a rounding boundary land on the same byte.
uint8_t to_byte(float value) {
  if (std::isnan(value)) return 0;
  const float scaled = value * 255.0f + 0.5f;
  return static_cast<uint8_t>(std::clamp(scaled, 0.0f, 255.0f));
}

}  // namespace

ImageGrid make_image_grid(const Tensor& images, int64_t nrow, int64_t padding, double pad_value) {
  TRIFECTA_CHECK(images.defined() && images.ndim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
                 "make_image_grid", "needs images [N, C, H, W] with C 1 or 3, got ",
                 images.defined() ? images.str() : "an undefined tensor");
  TRIFECTA_CHECK(is_floating(images.dtype()), "make_image_grid", "needs floating-point images in [0, 1], got ",
                 images.str());
  TRIFECTA_CHECK(images.size(0) > 0 && images.size(2) > 0 && images.size(3) > 0, "make_image_grid",
                 "no pixels to draw in ", images.str());
  TRIFECTA_CHECK(nrow > 0 && padding >= 0, "make_image_grid", "needs nrow > 0 and padding >= 0, got nrow ", nrow,
                 " and padding ", padding);
  const int64_t count = images.size(0), channels = images.size(1), image_height = images.size(2),
                image_width = images.size(3);
  const int64_t columns = std::min(nrow, count), rows = (count + columns - 1) / columns;
  const int64_t cell_height = image_height + padding, cell_width = image_width + padding;

  ImageGrid grid;
  grid.width = cell_width * columns + padding;
  grid.height = cell_height * rows + padding;
  grid.channels = static_cast<int>(channels);
  grid.pixels.assign(static_cast<size_t>(grid.width * grid.height * channels), to_byte(static_cast<float>(pad_value)));

  const std::vector<float> values = images.to_vector<float>();  // [N, C, H, W], row-major, on the host
  for (int64_t k = 0; k < count; ++k) {
    const int64_t top = (k / columns) * cell_height + padding, left = (k % columns) * cell_width + padding;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t y = 0; y < image_height; ++y)
        for (int64_t x = 0; x < image_width; ++x) {
          const float v = values[static_cast<size_t>(((k * channels + c) * image_height + y) * image_width + x)];
          grid.pixels[static_cast<size_t>(((top + y) * grid.width + left + x) * channels + c)] = to_byte(v);
        }
  }
  return grid;
}

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow, int64_t padding, double pad_value) {
  const ImageGrid grid = make_image_grid(images, nrow, padding, pad_value);
  write_png(path, grid.pixels.data(), grid.width, grid.height, grid.channels);
}

}  // namespace trifecta
