// Reading images for prediction and features: IDX through data/idx.h, PNG through data/png.h.
#include "models/classify/input_images.h"

#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "data/png.h"
#include "tensor/error.h"

namespace trifecta::classify {

namespace {

constexpr int64_t kSide = kFashionMnistSide;

bool is_png(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return extension == ".png";
}

// Bytes in [0, 255] to [0, 1], by division as data/fashion_mnist.cpp does, so the values are bit-identical.
Tensor to_unit_interval(const std::vector<uint8_t>& pixels, int64_t count) {
  Tensor images = empty({count, 1, kSide, kSide});
  float* out = images.data<float>();
  for (size_t i = 0; i < pixels.size(); ++i) out[i] = static_cast<float>(pixels[i]) / 255.0f;
  return images;
}

}  // namespace

Tensor load_input_images(const std::string& path) {
  TRIFECTA_CHECK(std::filesystem::is_regular_file(path), path, "no such image file");
  if (!is_png(path)) {
    const IdxBytes idx = read_idx_bytes(path, 3, "images");
    TRIFECTA_CHECK(idx.dims[1] == kSide && idx.dims[2] == kSide, path, "holds ", item_dims_text(idx.dims),
                   " images; the classifier reads 28x28");
    TRIFECTA_CHECK(idx.items > 0, path, "holds no images");
    return to_unit_interval(idx.data, idx.items);
  }
  const DecodedPng png = read_png(path);
  TRIFECTA_CHECK(png.width == kSide && png.height == kSide, path, "is ", png.width, "x", png.height,
                 "; the classifier reads 28x28 pictures");
  // Color to gray by the luma weights of ITU-R BT.601 (what PIL's convert("L") uses); alpha is dropped.
  std::vector<uint8_t> gray(static_cast<size_t>(kSide * kSide));
  for (size_t i = 0; i < gray.size(); ++i) {
    const uint8_t* p = &png.pixels[i * static_cast<size_t>(png.channels)];
    gray[i] = png.channels <= 2 ? p[0]
                                : static_cast<uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
  }
  return to_unit_interval(gray, 1);
}

}  // namespace trifecta::classify
