// PNG encoding on zlib: compress2 writes the zlib stream IDAT must hold, crc32 the chunk checksums.
#include "data/png.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

namespace {

void append_u32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void append_chunk(std::string& out, const char (&type)[5], const std::string& data) {
  append_u32(out, static_cast<uint32_t>(data.size()));
  const size_t type_at = out.size();
  out.append(type, 4);
  out += data;
  const auto* checked = reinterpret_cast<const Bytef*>(out.data() + type_at);
  append_u32(out, static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0), checked, static_cast<uInt>(4 + data.size()))));
}

}  // namespace

std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels) {
  // PNG caps each side at 2^31 - 1; the caps here keep every size within zlib's 32-bit counts.
  TRIFECTA_CHECK(channels == 1 || channels == 3, "encode_png", "channels must be 1 (gray) or 3 (RGB), got ", channels);
  TRIFECTA_CHECK(width > 0 && height > 0 && width <= (1 << 24) && height <= (1 << 24) &&
                     (width * channels + 1) * height < (int64_t{1} << 31),
                 "encode_png", "cannot encode a ", width, "x", height, " picture");
  const size_t row_bytes = static_cast<size_t>(width) * static_cast<size_t>(channels);

  std::string header;
  append_u32(header, static_cast<uint32_t>(width));
  append_u32(header, static_cast<uint32_t>(height));
  header.push_back(8);                                 // bits per sample
  header.push_back(static_cast<char>(channels == 1 ? 0 : 2));  // color type: 0 gray, 2 RGB
  header.push_back(0);                                 // compression method: deflate
  header.push_back(0);                                 // filter method: adaptive, per-row filter byte
  header.push_back(0);                                 // no interlacing

  std::vector<Bytef> filtered;
  filtered.reserve((row_bytes + 1) * static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) {
    filtered.push_back(0);  // filter type None: the row's bytes as they are
    filtered.insert(filtered.end(), pixels + static_cast<size_t>(y) * row_bytes,
                    pixels + static_cast<size_t>(y + 1) * row_bytes);
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(filtered.size()));
  std::string compressed(compressed_size, '\0');
  const int status = compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size, filtered.data(),
                               static_cast<uLong>(filtered.size()), Z_DEFAULT_COMPRESSION);
  TRIFECTA_CHECK(status == Z_OK, "encode_png", "zlib compression failed: ", zError(status));
  compressed.resize(compressed_size);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  append_chunk(png, "IHDR", header);
  append_chunk(png, "IDAT", compressed);
  append_chunk(png, "IEND", "");
  return png;
}

void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height, int channels) {
  write_file_atomically(path, encode_png(pixels, width, height, channels));
}

}  // namespace trifecta

namespace trifecta {

namespace {

uint32_t read_u32(const std::string& bytes, size_t at) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<uint8_t>(bytes[at + i]);
  return value;
}

// The Paeth predictor (section 9.4): whichever of left, up and upper-left is nearest to left + up - upper-left.
uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

}  // namespace

DecodedPng decode_png(const std::string& bytes, const std::string& name) {
  TRIFECTA_CHECK(bytes.size() >= 8 && bytes.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) == 0, name,
                 "is not a PNG file (no PNG signature)");
  DecodedPng png;
  std::string compressed;
  bool have_header = false, ended = false;
  for (size_t at = 8; !ended;) {
    TRIFECTA_CHECK(at + 12 <= bytes.size(), name, "is truncated (a chunk runs past the end of the file)");
    const uint32_t length = read_u32(bytes, at);
    TRIFECTA_CHECK(length <= bytes.size() - at - 12, name, "is truncated (a chunk runs past the end of the file)");
    const std::string type = bytes.substr(at + 4, 4);
    const auto* checked = reinterpret_cast<const Bytef*>(bytes.data() + at + 4);
    TRIFECTA_CHECK(crc32(crc32(0L, Z_NULL, 0), checked, length + 4) == read_u32(bytes, at + 8 + length), name,
                   "is corrupt (CRC mismatch in its ", type, " chunk)");
    const std::string data = bytes.substr(at + 8, length);
    if (type == "IHDR") {
      TRIFECTA_CHECK(length == 13, name, "has an IHDR chunk of ", length, " bytes, not 13");
      png.width = read_u32(data, 0);
      png.height = read_u32(data, 4);
      const int depth = static_cast<uint8_t>(data[8]), color = static_cast<uint8_t>(data[9]);
      TRIFECTA_CHECK(depth == 8, name, "has ", depth, "-bit samples; only 8-bit PNGs are read");
      TRIFECTA_CHECK(color == 0 || color == 2 || color == 4 || color == 6, name, "has color type ", color,
                     "; only gray, gray + alpha, RGB and RGBA PNGs are read (no palette)");
      TRIFECTA_CHECK(data[12] == 0, name, "is interlaced; only non-interlaced PNGs are read");
      png.channels = color == 0 ? 1 : color == 4 ? 2 : color == 2 ? 3 : 4;
      TRIFECTA_CHECK(png.width > 0 && png.height > 0 && png.width <= (1 << 16) && png.height <= (1 << 16), name,
                     "has an unsupported size ", png.width, "x", png.height);
      have_header = true;
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + length;
  }
  TRIFECTA_CHECK(have_header, name, "has no IHDR chunk");
  const size_t row_bytes = static_cast<size_t>(png.width) * static_cast<size_t>(png.channels);
  const size_t filtered_bytes = (row_bytes + 1) * static_cast<size_t>(png.height);
  // Deflate expands at most 1032:1 (a 258-byte match in about 2 bits), so a header promising more than that
  // from the data present lies: refuse it before allocating what it asks for (up to 16 GiB at 65536^2 RGBA).
  constexpr size_t kMaxDeflateRatio = 1032;
  TRIFECTA_CHECK(filtered_bytes <= (compressed.size() + 1) * kMaxDeflateRatio, name, "claims ", png.width, "x",
                 png.height, " pixels (", filtered_bytes, " bytes), more than its ", compressed.size(),
                 " bytes of image data can hold");
  std::vector<uint8_t> filtered(filtered_bytes);
  uLongf size = static_cast<uLongf>(filtered.size());
  const int status = uncompress(filtered.data(), &size, reinterpret_cast<const Bytef*>(compressed.data()),
                                static_cast<uLong>(compressed.size()));
  TRIFECTA_CHECK(status == Z_OK && size == filtered.size(), name, "has corrupt or short image data (zlib: ",
                 status == Z_OK ? "too few bytes" : zError(status), ")");
  // Undo each row's filter (section 9.2): a, b, c are the left, upper and upper-left bytes of the same sample.
  png.pixels.resize(row_bytes * static_cast<size_t>(png.height));
  const size_t bpp = static_cast<size_t>(png.channels);
  for (size_t y = 0; y < static_cast<size_t>(png.height); ++y) {
    const uint8_t filter = filtered[y * (row_bytes + 1)];
    TRIFECTA_CHECK(filter <= 4, name, "row ", y, " has unknown filter type ", int{filter});
    const uint8_t* in = &filtered[y * (row_bytes + 1) + 1];
    uint8_t* out = &png.pixels[y * row_bytes];
    const uint8_t* up = y > 0 ? out - row_bytes : nullptr;
    for (size_t x = 0; x < row_bytes; ++x) {
      const int a = x >= bpp ? out[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0;
      const int predicted = filter == 0 ? 0 : filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2 : paeth(a, b, c);
      out[x] = static_cast<uint8_t>(in[x] + predicted);
    }
  }
  return png;
}

DecodedPng read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRIFECTA_CHECK(in.good(), path, "cannot open the PNG file");
  std::ostringstream contents;
  contents << in.rdbuf();
  return decode_png(contents.str(), path);
}

}  // namespace trifecta
