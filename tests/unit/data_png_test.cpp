// PNG writing and image grids, checked by taking the file apart with zlib: the signature, each chunk's
// CRC-32, the IHDR fields, and the pixels after inflating IDAT and removing the per-row filter bytes; and
// PNG reading, on files written here with every row filter and color type.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "data/image_grid.h"
#include "data/png.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::expect_error;

struct DecodedPng {
  uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
  std::vector<std::string> chunk_types;
  std::vector<uint8_t> pixels;  // filter bytes removed
};

uint32_t be32(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
  return v;
}

// A decoder for what encode_png writes (8-bit, no interlace, filter 0 on every row), checking everything
// it reads along the way.
DecodedPng decode(const std::string& png) {
  DecodedPng out;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  std::string idat;
  size_t at = 8;
  while (at < png.size()) {
    const uint32_t length = be32(png, at);
    const std::string type = png.substr(at + 4, 4);
    const std::string data = png.substr(at + 8, length);
    const uint32_t crc = be32(png, at + 8 + length);
    const auto* typed = reinterpret_cast<const Bytef*>(png.data() + at + 4);
    EXPECT_EQ(crc, static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), typed, 4 + length))) << type;
    out.chunk_types.push_back(type);
    if (type == "IHDR") {
      EXPECT_EQ(length, 13u);
      out.width = be32(data, 0);
      out.height = be32(data, 4);
      out.bit_depth = static_cast<uint8_t>(data[8]);
      out.color_type = static_cast<uint8_t>(data[9]);
      EXPECT_EQ(data.substr(10), std::string(3, '\0'));  // deflate, adaptive filtering, no interlace
    }
    if (type == "IDAT") idat += data;
    at += 12 + length;
  }
  EXPECT_EQ(at, png.size());
  const size_t channels = out.color_type == 2 ? 3 : 1;
  const size_t row = out.width * channels;
  std::vector<uint8_t> raw((row + 1) * out.height);
  uLongf raw_size = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(raw_size, raw.size());
  for (size_t y = 0; y < out.height; ++y) {
    EXPECT_EQ(raw[y * (row + 1)], 0) << "filter byte of row " << y;
    out.pixels.insert(out.pixels.end(), raw.begin() + y * (row + 1) + 1, raw.begin() + (y + 1) * (row + 1));
  }
  return out;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("trifecta_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Png, GrayscaleStructureAndPixels) {
  const std::vector<uint8_t> pixels = {0, 1, 2, 253, 254, 255};  // 3 wide, 2 high
  const DecodedPng png = decode(encode_png(pixels.data(), 3, 2, 1));
  EXPECT_EQ(png.chunk_types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  EXPECT_EQ(png.width, 3u);
  EXPECT_EQ(png.height, 2u);
  EXPECT_EQ(png.bit_depth, 8);
  EXPECT_EQ(png.color_type, 0);
  EXPECT_EQ(png.pixels, pixels);
}

TEST(Png, RgbStructureAndPixels) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 4 * 5 * 3; ++i) pixels.push_back(static_cast<uint8_t>(i * 37));
  const DecodedPng png = decode(encode_png(pixels.data(), 4, 5, 3));
  EXPECT_EQ(png.width, 4u);
  EXPECT_EQ(png.height, 5u);
  EXPECT_EQ(png.color_type, 2);
  EXPECT_EQ(png.pixels, pixels);
}

TEST(Png, WritesTheFileAndRejectsBadPictures) {
  const std::string path = temp_path("one.png");
  const std::vector<uint8_t> pixels(64 * 48, 200);
  write_png(path, pixels.data(), 64, 48, 1);
  EXPECT_EQ(decode(read_file(path)).pixels, pixels);
  std::filesystem::remove(path);
  expect_error([&] { encode_png(pixels.data(), 8, 8, 2); }, "channels must be 1 (gray) or 3 (RGB)");
  expect_error([&] { encode_png(pixels.data(), 0, 8, 1); }, "cannot encode a 0x8 picture");
}

// A PNG as another program may write it: row y uses filter y % 5 (None, Sub, Up, Average, Paeth; section 9
// of the specification), applied here from its definition so decode_png must undo each.
std::string png_with_every_filter(const std::vector<uint8_t>& raw, uint32_t width, uint32_t height, int channels,
                                  int color_type, int bit_depth = 8, int interlace = 0) {
  const size_t row = width * static_cast<size_t>(channels), bpp = static_cast<size_t>(channels);
  std::vector<Bytef> filtered;
  for (size_t y = 0; y < height; ++y) {
    const int filter = static_cast<int>(y % 5);
    filtered.push_back(static_cast<Bytef>(filter));
    for (size_t x = 0; x < row; ++x) {
      const int a = x >= bpp ? raw[y * row + x - bpp] : 0, b = y > 0 ? raw[(y - 1) * row + x] : 0,
                c = x >= bpp && y > 0 ? raw[(y - 1) * row + x - bpp] : 0;
      const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
      const int paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const int predicted = filter == 0 ? 0 : filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2 : paeth;
      filtered.push_back(static_cast<Bytef>((raw[y * row + x] - predicted) & 0xff));
    }
  }
  uLongf size = compressBound(static_cast<uLong>(filtered.size()));
  std::string compressed(size, '\0');
  compress2(reinterpret_cast<Bytef*>(compressed.data()), &size, filtered.data(), static_cast<uLong>(filtered.size()), 9);
  compressed.resize(size);
  const auto u32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  };
  const auto chunk = [&](const std::string& type, const std::string& data) {
    const std::string body = type + data;
    return u32(static_cast<uint32_t>(data.size())) + body +
           u32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
  };
  const std::string header = u32(width) + u32(height) +
                             std::string{static_cast<char>(bit_depth), static_cast<char>(color_type), 0, 0,
                                         static_cast<char>(interlace)};
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", header) + chunk("tEXt", "Comment\0x") +
         chunk("IDAT", compressed) + chunk("IEND", "");
}

TEST(PngDecode, UndoesEveryFilterAndReadsEachColorType) {
  for (const auto& [channels, color_type] : {std::pair{1, 0}, std::pair{2, 4}, std::pair{3, 2}, std::pair{4, 6}}) {
    SCOPED_TRACE(channels);
    std::vector<uint8_t> raw;
    for (int i = 0; i < 7 * 10 * channels; ++i) raw.push_back(static_cast<uint8_t>((i * 97 + i / 7 * 13) % 256));
    const trifecta::DecodedPng png = decode_png(png_with_every_filter(raw, 7, 10, channels, color_type), "t.png");
    EXPECT_EQ(png.width, 7);
    EXPECT_EQ(png.height, 10);
    EXPECT_EQ(png.channels, channels);
    EXPECT_EQ(png.pixels, raw);
  }
  // What encode_png writes reads back.
  const std::vector<uint8_t> gray = {0, 50, 100, 150, 200, 250};
  EXPECT_EQ(decode_png(encode_png(gray.data(), 3, 2, 1), "g.png").pixels, gray);
}

TEST(PngDecode, RefusesWhatItDoesNotReadNamingTheFile) {
  const std::vector<uint8_t> raw(4 * 4, 9);
  expect_error([&] { decode_png(png_with_every_filter(raw, 4, 4, 1, 3), "palette.png"); }, "palette.png", "color type 3");
  expect_error([&] { decode_png(png_with_every_filter(raw, 2, 4, 2, 0, 16), "deep.png"); }, "deep.png", "16-bit");
  expect_error([&] { decode_png(png_with_every_filter(raw, 4, 4, 1, 0, 8, 1), "laced.png"); }, "laced.png", "interlaced");
  const std::string good = png_with_every_filter(raw, 4, 4, 1, 0);
  expect_error([&] { decode_png(good.substr(0, good.size() - 20), "cut.png"); }, "cut.png", "truncated");
  expect_error([&] { decode_png("GIF89a", "gif.png"); }, "gif.png", "not a PNG");
  std::string flipped = good;
  flipped[20] = static_cast<char>(flipped[20] ^ 4);
  expect_error([&] { decode_png(flipped, "flip.png"); }, "flip.png", "CRC");
  // A header promising 65536 x 65536 RGBA pixels (16 GiB) over a few bytes of data, with a valid CRC: refused
  // before anything of that size is allocated, since deflate expands at most 1032:1.
  std::string huge = png_with_every_filter(std::vector<uint8_t>(4 * 4 * 4, 9), 4, 4, 4, 6);
  for (int byte : {16, 20}) huge.replace(byte, 4, std::string("\x00\x01\x00\x00", 4));  // IHDR width, height
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(huge.data() + 12), 17);  // "IHDR" and its 13 bytes
  for (int i = 0; i < 4; ++i) huge[29 + i] = static_cast<char>(crc >> (24 - 8 * i));
  expect_error([&] { decode_png(huge, "bomb.png"); }, "bomb.png", "65536x65536", "more than its");
}

TEST(ImageGrid, LayoutLikeTorchvisionMakeGrid) {
  // 5 images of 2x3, 2 per row, padding 1: 3 rows of cells, each image 1 pixel right of and below its cell's
  // corner, and a final padding line on the right and at the bottom.
  const int64_t n = 5, h = 2, w = 3;
  std::vector<float> values;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t i = 0; i < h * w; ++i) values.push_back(static_cast<float>(k * 10 + i + 1) / 255.0f);
  const ImageGrid grid = make_image_grid(from_vector(values, {n, 1, h, w}), 2, 1);
  EXPECT_EQ(grid.width, (w + 1) * 2 + 1);
  EXPECT_EQ(grid.height, (h + 1) * 3 + 1);
  EXPECT_EQ(grid.channels, 1);
  ASSERT_EQ(grid.pixels.size(), static_cast<size_t>(grid.width * grid.height));
  std::vector<uint8_t> expected(grid.pixels.size(), 0);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        expected[static_cast<size_t>(((k / 2) * (h + 1) + 1 + y) * grid.width + (k % 2) * (w + 1) + 1 + x)] =
            static_cast<uint8_t>(k * 10 + y * w + x + 1);
  EXPECT_EQ(grid.pixels, expected);

  // The saved PNG holds exactly these pixels.
  const std::string path = temp_path("grid.png");
  save_image_grid(path, from_vector(values, {n, 1, h, w}), 2, 1);
  const DecodedPng png = decode(read_file(path));
  std::filesystem::remove(path);
  EXPECT_EQ(png.width, static_cast<uint32_t>(grid.width));
  EXPECT_EQ(png.height, static_cast<uint32_t>(grid.height));
  EXPECT_EQ(png.color_type, 0);
  EXPECT_EQ(png.pixels, expected);
}

TEST(ImageGrid, QuantizesLikeSaveImageAndPadsWithPadValue) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // One 1x6 image, default padding 2, white padding.
  const Tensor image = from_vector(std::vector<float>{-0.5f, 0.0f, 0.5f, 1.0f, 1.5f, nan}, {1, 1, 1, 6});
  const ImageGrid grid = make_image_grid(image, 8, 2, 1.0);
  EXPECT_EQ(grid.width, 6 + 4);
  EXPECT_EQ(grid.height, 1 + 4);
  const std::vector<uint8_t> row(grid.pixels.begin() + 2 * grid.width + 2, grid.pixels.begin() + 2 * grid.width + 8);
  // floor(clamp(255 v + 0.5, 0, 255)): 0.5 -> 128, out-of-range values clamp, NaN -> 0.
  EXPECT_EQ(row, (std::vector<uint8_t>{0, 0, 128, 255, 255, 0}));
  EXPECT_EQ(grid.pixels[0], 255);
  EXPECT_EQ(grid.pixels.back(), 255);
  // Other float dtypes and no padding.
  const ImageGrid packed = make_image_grid(image.to(DType::Float64), 8, 0);
  EXPECT_EQ(packed.pixels, row);
}

TEST(ImageGrid, RgbImagesAndErrors) {
  // Two 1x1 RGB images side by side, no padding: channels interleave per pixel.
  const Tensor images = from_vector(std::vector<float>{1, 0, 0, 0, 0, 1}, {2, 3, 1, 1});
  const ImageGrid grid = make_image_grid(images, 2, 0);
  EXPECT_EQ(grid.channels, 3);
  EXPECT_EQ(grid.pixels, (std::vector<uint8_t>{255, 0, 0, 0, 0, 255}));
  expect_error([] { make_image_grid(zeros({2, 2, 4, 4})); }, "with C 1 or 3");
  expect_error([] { make_image_grid(zeros({4, 4})); }, "needs images [N, C, H, W]");
  expect_error([] { make_image_grid(arange(16).reshape({1, 1, 4, 4})); }, "floating-point");
  expect_error([] { make_image_grid(zeros({0, 1, 4, 4})); }, "no pixels");
  expect_error([] { make_image_grid(zeros({1, 1, 4, 4}), 0); }, "nrow > 0");
}

}  // namespace
}  // namespace trifecta
