// Fashion-MNIST (Xiao, Rasul and Vollgraf, "Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine
// Learning Algorithms", arXiv:1708.07747): 28x28 grayscale pictures of clothing in 10 balanced classes,
// 60,000 for training and 10,000 for testing, stored as gzipped IDX files exactly like MNIST.
//
// Where the files are: the directory argument if given, else $TRIFECTA_FASHION_MNIST, else Debian's
// dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist). Each file may also be unpacked (the
// name without .gz), as torchvision's download leaves it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta {

constexpr int64_t kFashionMnistSide = 28;
constexpr int64_t kFashionMnistClasses = 10;

enum class FashionMnistSplit { Train, Test };

struct FashionMnistOptions {
  std::string directory = {};  // empty: $TRIFECTA_FASHION_MNIST, else /usr/share/datasets/fashion-mnist
  int64_t limit = -1;     // read only the first `limit` examples (all when negative)
};

// The files as stored: count * 28 * 28 pixels (0 = background, 255 = ink) and count labels in [0, 10).
struct FashionMnistBytes {
  int64_t count = 0;
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;
};

// As a network consumes it: images float32 [N, 1, 28, 28] holding pixel / 255 in [0, 1] (what torchvision's
// ToTensor gives), labels int64 [N].
struct FashionMnist {
  Tensor images;
  Tensor labels;
};

// The directory the files are read from, after applying the fallbacks above.
std::string fashion_mnist_directory(const std::string& directory = "");
// Reads and validates one split: magic numbers, 28x28 images, equal image and label counts, labels in range.
// Any problem is an Error naming the file and what is wrong with it.
FashionMnistBytes read_fashion_mnist_bytes(FashionMnistSplit split, const FashionMnistOptions& options = {});
FashionMnist load_fashion_mnist(FashionMnistSplit split, const FashionMnistOptions& options = {});

// "T-shirt/top", "Trouser", ..., "Ankle boot": the names of labels 0 to 9.
const std::array<std::string, kFashionMnistClasses>& fashion_mnist_class_names();

}  // namespace trifecta
