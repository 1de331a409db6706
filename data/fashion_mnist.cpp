// Fashion-MNIST: finding the files, checking them against each other, and turning bytes into tensors.
#include "data/fashion_mnist.h"

#include <cstdlib>
#include <filesystem>

#include "data/idx.h"
#include "kernels/common/parallel.h"

namespace trifecta {

namespace {

// The gzipped file, or the unpacked one when only that exists (errors then name the .gz the package ships).
std::string split_file(const std::string& directory, FashionMnistSplit split, const char* kind) {
  const std::string stem = (std::filesystem::path(directory) /
                            ((split == FashionMnistSplit::Train ? "train-" : "t10k-") + std::string(kind)))
                               .string();
  if (!std::filesystem::exists(stem + ".gz") && std::filesystem::exists(stem)) return stem;
  return stem + ".gz";
}

}  // namespace

std::string fashion_mnist_directory(const std::string& directory) {
  if (!directory.empty()) return directory;
  const char* from_environment = std::getenv("TRIFECTA_FASHION_MNIST");
  if (from_environment && *from_environment) return from_environment;
  return "/usr/share/datasets/fashion-mnist";
}

FashionMnistBytes read_fashion_mnist_bytes(FashionMnistSplit split, const FashionMnistOptions& options) {
  const std::string directory = fashion_mnist_directory(options.directory);
  const std::string images_path = split_file(directory, split, "images-idx3-ubyte");
  const std::string labels_path = split_file(directory, split, "labels-idx1-ubyte");

  IdxBytes images = read_idx_bytes(images_path, 3, "images", options.limit);
  TRIFECTA_CHECK(images.dims[1] == kFashionMnistSide && images.dims[2] == kFashionMnistSide, images_path,
                 "images are ", item_dims_text(images.dims), ", Fashion-MNIST's are 28x28");
  IdxBytes labels = read_idx_bytes(labels_path, 1, "labels", options.limit);
  TRIFECTA_CHECK(images.dims[0] == labels.dims[0], labels_path, "holds ", labels.dims[0], " labels but ",
                 images_path, " holds ", images.dims[0], " images");
  for (int64_t i = 0; i < labels.items; ++i)
    TRIFECTA_CHECK(labels.data[i] < kFashionMnistClasses, labels_path, "label ", int{labels.data[i]},
                   " of example ", i, " is not one of the ", kFashionMnistClasses, " classes");

  FashionMnistBytes result;
  result.count = images.items;
  result.pixels = std::move(images.data);
  result.labels = std::move(labels.data);
  return result;
}

FashionMnist load_fashion_mnist(FashionMnistSplit split, const FashionMnistOptions& options) {
  const FashionMnistBytes bytes = read_fashion_mnist_bytes(split, options);
  FashionMnist result;
  result.images = empty({bytes.count, 1, kFashionMnistSide, kFashionMnistSide});
  result.labels = empty({bytes.count}, DType::Int64);
  float* images = result.images.data<float>();
  const uint8_t* pixels = bytes.pixels.data();
  // Division rather than multiplication by 1/255: the results are then bit-identical to torchvision's.
  parallel_for(0, static_cast<int64_t>(bytes.pixels.size()), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) images[i] = static_cast<float>(pixels[i]) / 255.0f;
  });
  int64_t* labels = result.labels.data<int64_t>();
  for (int64_t i = 0; i < bytes.count; ++i) labels[i] = bytes.labels[i];
  return result;
}

const std::array<std::string, kFashionMnistClasses>& fashion_mnist_class_names() {
  static const std::array<std::string, kFashionMnistClasses> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
  return names;
}

}  // namespace trifecta
