// Fashion-MNIST loading: the real files from Debian's dataset-fashion-mnist (counts, pixel range, balanced
// classes, and checksums of the first images computed independently with Python's gzip and zlib), subsets,
// where the files are looked for, and one clear error for each way a file can be wrong, on crafted files.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_error;

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("trifecta_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string idx_bytes(uint32_t magic, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string bytes;
  auto put = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put(magic);
  for (uint32_t d : dims) put(d);
  bytes.append(data.begin(), data.end());
  return bytes;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::vector<uint8_t> noise(size_t n, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<uint8_t> bytes(n);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(generator());
  return bytes;
}

// A well-formed training split of `count` examples, labels 0, 1, 2, ...
void write_split(const TempDir& dir, uint32_t count) {
  std::vector<uint8_t> labels(count);
  for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(i % 10);
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(0x803, {count, 28, 28}, noise(count * 784, 1)));
  write_gzip(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(0x801, {count}, labels));
}

FashionMnistBytes read_train(const TempDir& dir, int64_t limit = -1) {
  return read_fashion_mnist_bytes(FashionMnistSplit::Train, {dir.path.string(), limit});
}

uint32_t crc_of(const uint8_t* bytes, size_t n) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), bytes, static_cast<uInt>(n)));
}

void expect_balanced(const Tensor& labels, int64_t per_class) {
  std::vector<int64_t> histogram(kFashionMnistClasses, 0);
  for (int64_t label : labels.to_vector<int64_t>()) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, kFashionMnistClasses);
    ++histogram[static_cast<size_t>(label)];
  }
  for (int64_t c = 0; c < kFashionMnistClasses; ++c) EXPECT_EQ(histogram[static_cast<size_t>(c)], per_class) << c;
}

TEST(FashionMnist, TrainSplitMatchesTheFilesChecksums) {
  const FashionMnistBytes bytes = read_fashion_mnist_bytes(FashionMnistSplit::Train);
  ASSERT_EQ(bytes.count, 60000);
  ASSERT_EQ(bytes.pixels.size(), 60000u * 784u);
  ASSERT_EQ(bytes.labels.size(), 60000u);
  // Computed independently: python3 -c "gzip.open(...).read()[16:16+784]" -> zlib.crc32, sum.
  EXPECT_EQ(crc_of(bytes.pixels.data(), 784), 0xf270beb5u);
  uint64_t total = 0;
  for (uint8_t p : bytes.pixels) total += p;
  EXPECT_EQ(total, 3431114169u);
  EXPECT_EQ(std::vector<uint8_t>(bytes.labels.begin(), bytes.labels.begin() + 10),
            (std::vector<uint8_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
}

TEST(FashionMnist, TensorsHoldScaledPixelsAndBalancedLabels) {
  const FashionMnist train = load_fashion_mnist(FashionMnistSplit::Train);
  EXPECT_EQ(train.images.shape(), (Shape{60000, 1, 28, 28}));
  EXPECT_EQ(train.images.dtype(), DType::Float32);
  EXPECT_EQ(train.labels.shape(), (Shape{60000}));
  EXPECT_EQ(train.labels.dtype(), DType::Int64);
  const float* pixels = train.images.data<float>();
  float lowest = 1, highest = 0;
  for (int64_t i = 0; i < train.images.numel(); ++i) {
    lowest = std::min(lowest, pixels[i]);
    highest = std::max(highest, pixels[i]);
  }
  EXPECT_EQ(lowest, 0.0f);
  EXPECT_EQ(highest, 1.0f);
  double first_sum = 0;
  for (int i = 0; i < 784; ++i) first_sum += pixels[i] * 255.0;
  EXPECT_NEAR(first_sum, 76247.0, 1e-2);
  expect_balanced(train.labels, 6000);

  const FashionMnist test = load_fashion_mnist(FashionMnistSplit::Test);
  EXPECT_EQ(test.images.shape(), (Shape{10000, 1, 28, 28}));
  expect_balanced(test.labels, 1000);
  EXPECT_EQ(test.labels.to_vector<int64_t>()[0], 9);
}

TEST(FashionMnist, TestSplitFirstImageChecksum) {
  const FashionMnistBytes bytes = read_fashion_mnist_bytes(FashionMnistSplit::Test);
  EXPECT_EQ(bytes.count, 10000);
  EXPECT_EQ(crc_of(bytes.pixels.data(), 784), 0x52830860u);
}

TEST(FashionMnist, SubsetIsThePrefix) {
  const FashionMnist subset = load_fashion_mnist(FashionMnistSplit::Train, {.limit = 100});
  const FashionMnistBytes bytes = read_fashion_mnist_bytes(FashionMnistSplit::Train, {.limit = 100});
  ASSERT_EQ(subset.images.shape(), (Shape{100, 1, 28, 28}));
  ASSERT_EQ(bytes.pixels.size(), 100u * 784u);
  EXPECT_EQ(crc_of(bytes.pixels.data(), 784), 0xf270beb5u);
  const std::vector<float> images = subset.images.to_vector<float>();
  for (size_t i = 0; i < images.size(); ++i) ASSERT_EQ(images[i], static_cast<float>(bytes.pixels[i]) / 255.0f);
  EXPECT_EQ(subset.labels.to_vector<int64_t>()[3], 3);
  // A limit beyond the file is the whole file; zero is an empty set.
  EXPECT_EQ(read_fashion_mnist_bytes(FashionMnistSplit::Test, {.limit = 20000}).count, 10000);
  EXPECT_EQ(load_fashion_mnist(FashionMnistSplit::Test, {.limit = 0}).images.shape(), (Shape{0, 1, 28, 28}));
}

TEST(FashionMnist, DirectoryArgumentThenEnvironmentThenDefault) {
  TempDir dir("fmnist_env");
  write_split(dir, 7);
  ::unsetenv("TRIFECTA_FASHION_MNIST");
  EXPECT_EQ(fashion_mnist_directory(), "/usr/share/datasets/fashion-mnist");
  ::setenv("TRIFECTA_FASHION_MNIST", dir.path.c_str(), 1);
  EXPECT_EQ(fashion_mnist_directory(), dir.path.string());
  EXPECT_EQ(read_fashion_mnist_bytes(FashionMnistSplit::Train).count, 7);
  EXPECT_EQ(fashion_mnist_directory("/somewhere/else"), "/somewhere/else");
  EXPECT_EQ(read_fashion_mnist_bytes(FashionMnistSplit::Train, {"/usr/share/datasets/fashion-mnist", 5}).count, 5);
  ::unsetenv("TRIFECTA_FASHION_MNIST");
}

TEST(FashionMnist, ReadsUnpackedFiles) {
  TempDir dir("fmnist_plain");
  write_file(dir.file("train-images-idx3-ubyte"), idx_bytes(0x803, {3, 28, 28}, noise(3 * 784, 2)));
  write_file(dir.file("train-labels-idx1-ubyte"), idx_bytes(0x801, {3}, {4, 5, 6}));
  const FashionMnist data = load_fashion_mnist(FashionMnistSplit::Train, {dir.path.string()});
  EXPECT_EQ(data.labels.to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6}));
  EXPECT_EQ(data.images.to_vector<float>()[0], static_cast<float>(noise(1, 2)[0]) / 255.0f);
}

TEST(FashionMnistErrors, MissingFile) {
  TempDir dir("fmnist_missing");
  expect_error([&] { read_train(dir); },
               {dir.file("train-images-idx3-ubyte.gz"), "cannot open: No such file or directory"});
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(0x803, {1, 28, 28}, noise(784, 3)));
  expect_error([&] { read_train(dir); }, {dir.file("train-labels-idx1-ubyte.gz"), "cannot open"});
}

TEST(FashionMnistErrors, TruncatedGzipStream) {
  TempDir dir("fmnist_cut_gzip");
  write_split(dir, 5);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  const std::string whole = read_file(path);
  write_file(path, whole.substr(0, whole.size() / 2));
  expect_error([&] { read_train(dir); },
               {path, "truncated: header says 5 images of 28x28 but the file ends after ", " images",
                "(the gzip stream is cut off)"});
  // Cut inside the 8-byte gzip trailer: all the data is there, the CRC is not.
  write_file(path, whole.substr(0, whole.size() - 3));
  expect_error([&] { read_train(dir); }, {path, "after the 5 images: the gzip stream is cut off"});
  // The prefix a limit asks for is intact, so a subset still loads.
  write_file(path, whole.substr(0, whole.size() / 2));
  EXPECT_EQ(read_train(dir, 1).count, 1);
}

TEST(FashionMnistErrors, CorruptGzipStream) {
  TempDir dir("fmnist_corrupt");
  write_split(dir, 5);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  std::string bytes = read_file(path);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_file(path, bytes);
  expect_error([&] { read_train(dir); }, {path, "the gzip stream is corrupt"});
}

TEST(FashionMnistErrors, TruncatedIdxBody) {
  TempDir dir("fmnist_short_body");
  write_split(dir, 5);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  write_gzip(path, idx_bytes(0x803, {5, 28, 28}, noise(3 * 784 + 100, 4)));
  expect_error([&] { read_train(dir); },
               {path + ": truncated: header says 5 images of 28x28 but the file ends after 3 images"});
  write_gzip(path, idx_bytes(0x803, {5, 28}, {}));
  expect_error([&] { read_train(dir); }, {path, "the file ends inside the IDX header (12 of 16 bytes)"});
  const std::string labels = dir.file("train-labels-idx1-ubyte.gz");
  write_split(dir, 5);
  write_gzip(labels, idx_bytes(0x801, {5}, {1, 2}));
  expect_error([&] { read_train(dir); }, {labels, "header says 5 labels but the file ends after 2 labels"});
}

TEST(FashionMnistErrors, BadMagicNumber) {
  TempDir dir("fmnist_magic");
  write_split(dir, 2);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  write_gzip(path, idx_bytes(0x801, {2, 28, 28}, noise(2 * 784, 5)));
  expect_error([&] { read_train(dir); },
               {path, "not an IDX file of unsigned bytes with 3 dimensions: magic number 0x00000801, expected 0x00000803"});
  // Floats (type code 0x0d) are IDX, but not what Fashion-MNIST holds.
  write_gzip(path, idx_bytes(0xd03, {2, 28, 28}, noise(2 * 784 * 4, 5)));
  expect_error([&] { read_train(dir); }, {path, "magic number 0x00000d03"});
}

TEST(FashionMnistErrors, CountMismatch) {
  TempDir dir("fmnist_counts");
  write_split(dir, 5);
  write_gzip(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(0x801, {4}, {1, 2, 3, 4}));
  expect_error([&] { read_train(dir); }, {dir.file("train-labels-idx1-ubyte.gz"), "holds 4 labels but",
                                          dir.file("train-images-idx3-ubyte.gz"), "holds 5 images"});
  // Caught from the headers, even when a limit reads fewer.
  expect_error([&] { read_train(dir, 2); }, {"holds 4 labels"});
}

TEST(FashionMnistErrors, WrongImageSize) {
  TempDir dir("fmnist_dims");
  write_split(dir, 2);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  write_gzip(path, idx_bytes(0x803, {2, 32, 32}, noise(2 * 1024, 6)));
  expect_error([&] { read_train(dir); }, {path, "images are 32x32, Fashion-MNIST's are 28x28"});
}

TEST(FashionMnistErrors, DataBeyondTheDeclaredCount) {
  TempDir dir("fmnist_trailing");
  write_split(dir, 2);
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  write_gzip(path, idx_bytes(0x803, {2, 28, 28}, noise(3 * 784, 7)));
  expect_error([&] { read_train(dir); }, {path, "data continues after the 2 images the header declares"});
}

TEST(FashionMnistErrors, LabelOutOfRange) {
  TempDir dir("fmnist_label");
  write_split(dir, 3);
  const std::string path = dir.file("train-labels-idx1-ubyte.gz");
  write_gzip(path, idx_bytes(0x801, {3}, {0, 9, 10}));
  expect_error([&] { read_train(dir); }, {path, "label 10 of example 2 is not one of the 10 classes"});
}

TEST(FashionMnistErrors, HugeDeclaredCountIsTruncationNotAnAllocation) {
  TempDir dir("fmnist_huge");
  const std::string path = dir.file("huge-idx3-ubyte.gz");
  write_gzip(path, idx_bytes(0x803, {0xffffffffu, 28, 28}, noise(784, 8)));
  expect_error([&] { read_idx_bytes(path, 3, "images"); },
               {"header says 4294967295 images of 28x28 but the file ends after 1 images"});
}

// 2^16 items of 2^24 x 2^24 bytes are 2^64 bytes: the size wrapped to 0, so a header with no data after it
// read as 65536 items holding nothing.
TEST(FashionMnistErrors, SizesThatOverflowAreRefused) {
  TempDir dir("fmnist_overflow");
  const std::string path = dir.file("wrap-idx3-ubyte");
  write_file(path, idx_bytes(0x803, {1u << 16, 1u << 24, 1u << 24}, {}));
  expect_error([&] { read_idx_bytes(path, 3, "images"); }, {path, "65536 images of 16777216x16777216", "too large"});
  // One item whose size alone overflows (the product of two 32-bit dims).
  write_file(path, idx_bytes(0x803, {1, 0xffffffffu, 0xffffffffu}, {}));
  expect_error([&] { read_idx_bytes(path, 3, "images"); }, {path, "too large"});
  // With a limit the same header is refused before anything is read, too.
  expect_error([&] { read_idx_bytes(path, 3, "images", 1); }, {path, "too large"});
}

}  // namespace
}  // namespace trifecta
