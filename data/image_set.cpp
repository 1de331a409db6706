// Reading image sets from Fashion-MNIST, .npy and .safetensors, and the one check every source goes through.
#include "data/image_set.h"

#include <algorithm>
#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/npy.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

namespace {

// The tensor of a safetensors file that holds the images: the named one, or the only one.
Tensor pick_tensor(const std::string& path, const std::string& name) {
  const TensorFile file = load_safetensors(path);
  std::string names;
  for (const auto& [n, t] : file.tensors) names += (names.empty() ? "" : ", ") + n;
  if (!name.empty()) {
    TRIFECTA_CHECK(file.has(name), path, "has no tensor '", name, "' (it holds: ", names.empty() ? "none" : names, ")");
    return file.get(name);
  }
  TRIFECTA_CHECK(file.tensors.size() == 1, path, "holds ", file.tensors.size(), " tensors (", names,
                 "); name the one holding the images");
  return file.tensors.front().second;
}

}  // namespace

void check_image_set(const Tensor& images, const std::string& what) {
  const Shape& s = images.shape();
  TRIFECTA_CHECK(is_floating(images.dtype()), what, "images must be floating point, got ", dtype_name(images.dtype()));
  TRIFECTA_CHECK(s.size() == 4 && s[1] == 1 && s[2] == kFashionMnistSide && s[3] == kFashionMnistSide, what,
                 "expected images of shape [N, 1, 28, 28], got ", s.str());
  TRIFECTA_CHECK(s[0] >= 1, what, "holds no images");
  // In blocks of images, so that checking the 60,000 training images never holds them all in float64.
  constexpr int64_t kImagesPerBlock = 1024;
  const int64_t per_image = s[1] * s[2] * s[3];
  for (int64_t first = 0; first < s[0]; first += kImagesPerBlock) {
    const int64_t count = std::min(kImagesPerBlock, s[0] - first);
    const Tensor block = images.narrow(0, first, count).to(kCPU).to(DType::Float64).contiguous();
    const double* v = block.data<double>();
    for (int64_t i = 0; i < block.numel(); ++i) {
      // Written so that NaN fails too.
      if (!(v[i] >= 0.0 && v[i] <= 1.0)) {
        const int64_t pixel = i % per_image;
        TRIFECTA_FAIL(what, "image ", first + i / per_image, " has value ", v[i], " at row ", pixel / s[3],
                      ", column ", pixel % s[3], "; images must lie in [0, 1]");
      }
    }
  }
}

Tensor load_image_set(const std::string& source, const ImageSetOptions& options) {
  Tensor images;
  if (source == "train" || source == "test") {
    TRIFECTA_CHECK(options.tensor.empty(), source, "a Fashion-MNIST split has no tensor names (got '", options.tensor, "')");
    const FashionMnistSplit split = source == "train" ? FashionMnistSplit::Train : FashionMnistSplit::Test;
    return load_fashion_mnist(split, {.directory = options.data_directory, .limit = options.limit}).images;
  }
  const std::string extension = std::filesystem::path(source).extension().string();
  if (extension == ".npy") {
    TRIFECTA_CHECK(options.tensor.empty(), source, "a .npy file holds one array; it has no tensor names (got '",
                   options.tensor, "')");
    const NpyArray array = read_npy(source);
    images = npy_to_tensor(array);
    if (array.dtype == NpyDType::UInt8) {  // pixel bytes, 0 = background, 255 = ink
      double* v = images.data<double>();
      for (int64_t i = 0; i < images.numel(); ++i) v[i] /= 255.0;
    }
  } else if (extension == ".safetensors") {
    images = pick_tensor(source, options.tensor);
  } else {
    TRIFECTA_FAIL(source, "is neither a Fashion-MNIST split (train, test) nor a .npy or .safetensors file");
  }
  // Only the images that will be used are checked (and converted).
  if (options.limit >= 0 && images.ndim() >= 1) images = images.narrow(0, 0, std::min(options.limit, images.size(0)));
  check_image_set(images, source);
  return images.to(DType::Float32).contiguous();
}

}  // namespace trifecta
