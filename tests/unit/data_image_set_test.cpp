// Image sets for the metrics (data/image_set.h): Fashion-MNIST splits by name, .npy files of each dtype,
// safetensors files with one or several tensors, and a clear error for a wrong shape, a value outside
// [0, 1], a missing or needless tensor name, or a file of another kind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/image_set.h"
#include "data/npy.h"
#include "tensor/safetensors.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("trifecta_image_set_" + std::to_string(::getpid()) + "_" + name)).string();
}

// n images whose pixel p of image i is ((i * 784 + p) % 256) / 255: in [0, 1], all different per image.
Tensor images(int64_t n, DType dtype = DType::Float32) {
  Tensor t = empty({n, 1, 28, 28}, DType::Float64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = static_cast<double>(i % 256) / 255.0;
  return t.to(dtype);
}

TEST(ImageSet, FashionMnistSplitsByName) {
  const Tensor test = load_image_set("test", {.limit = 7});
  EXPECT_EQ(test.shape(), (Shape{7, 1, 28, 28}));
  EXPECT_EQ(test.dtype(), DType::Float32);
  EXPECT_EQ(test.to_vector<float>(), load_fashion_mnist(FashionMnistSplit::Test, {.limit = 7}).images.to_vector<float>());
  EXPECT_EQ(load_image_set("train", {.limit = 3}).to_vector<float>(),
            load_fashion_mnist(FashionMnistSplit::Train, {.limit = 3}).images.to_vector<float>());
  expect_error([] { load_image_set("test", {.tensor = "images"}); }, "test", "no tensor names");
}

TEST(ImageSet, NpyFilesOfEachDtype) {
  const std::string path = temp_path("set.npy");
  for (const DType dtype : {DType::Float32, DType::Float64}) {
    write_npy(path, images(5, dtype));
    const Tensor loaded = load_image_set(path);
    EXPECT_EQ(loaded.dtype(), DType::Float32);
    EXPECT_EQ(loaded.to_vector<float>(), images(5).to_vector<float>());
    EXPECT_EQ(load_image_set(path, {.limit = 2}).shape(), (Shape{2, 1, 28, 28}));
  }
  // Bytes: divided by 255, as Fashion-MNIST's pixels are.
  std::string bytes = "\x93NUMPY\x01";
  const std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 28, 28), }\n";
  bytes += '\0';
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  for (int p = 0; p < 784; ++p) bytes += static_cast<char>(p % 256);
  write_file_atomically(path, bytes);
  const std::vector<float> loaded = load_image_set(path).to_vector<float>();
  EXPECT_EQ(loaded[255], 1.0f);
  EXPECT_EQ(loaded[3], 3.0f / 255.0f);
  expect_error([&] { load_image_set(path, {.tensor = "x"}); }, path, "holds one array");
  fs::remove(path);
}

TEST(ImageSet, SafetensorsByNameOrAlone) {
  const std::string one = temp_path("one.safetensors"), two = temp_path("two.safetensors");
  save_safetensors(one, {{"samples", images(4, DType::Float64)}});
  EXPECT_EQ(load_image_set(one).to_vector<float>(), images(4).to_vector<float>());
  EXPECT_EQ(load_image_set(one, {.tensor = "samples"}).size(0), 4);
  save_safetensors(two, {{"images", images(3)}, {"labels", images(2)}});
  EXPECT_EQ(load_image_set(two, {.tensor = "labels"}).size(0), 2);
  expect_error([&] { load_image_set(two); }, two, "holds 2 tensors", "images, labels", "name the one");
  expect_error([&] { load_image_set(two, {.tensor = "x"}); }, two, "no tensor 'x'", "images, labels");
  fs::remove(one);
  fs::remove(two);
}

TEST(ImageSet, BadSetsAreClearErrors) {
  const std::string path = temp_path("bad.npy");
  const auto rejects = [&](const Tensor& t, std::initializer_list<std::string_view> parts) {
    write_npy(path, t);
    testing::expect_error([&] { load_image_set(path); }, parts);
  };
  rejects(empty({2, 28, 28}, DType::Float32), {"expected images of shape [N, 1, 28, 28]", "[2, 28, 28]"});
  rejects(empty({2, 3, 28, 28}, DType::Float32), {"[2, 3, 28, 28]"});
  rejects(empty({0, 1, 28, 28}, DType::Float32), {"holds no images"});
  for (const double bad : {1.5, -0.25, static_cast<double>(NAN)}) {
    Tensor t = images(3, DType::Float64);
    t.data<double>()[784 + 28 * 4 + 5] = bad;  // image 1, row 4, column 5
    rejects(t, {"image 1 has value", "at row 4, column 5", "must lie in [0, 1]"});
  }
  // The check reads in blocks of 1024 images: the index stays right past the first block, and images past
  // --limit are neither read nor refused.
  Tensor many = images(1030, DType::Float32);
  many.data<float>()[1027 * 784 + 28 * 2 + 1] = 2.0f;
  rejects(many, {"image 1027 has value 2", "at row 2, column 1"});
  EXPECT_EQ(load_image_set(path, {.limit = 1027}).size(0), 1027);
  expect_error([] { load_image_set("samples.png"); }, "samples.png", "neither a Fashion-MNIST split");
  expect_error([] { load_image_set(temp_path("missing.npy")); }, "missing.npy", "no such file");
  const std::string ints = temp_path("ints.safetensors");
  save_safetensors(ints, {{"images", empty({1, 1, 28, 28}, DType::Int64)}});
  expect_error([&] { load_image_set(ints); }, ints, "floating point", "int64");
  fs::remove(ints);
  fs::remove(path);
}

}  // namespace
}  // namespace trifecta
