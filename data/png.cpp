// PNG encoding on zlib: compress2 writes the zlib stream IDAT must hold, crc32 the chunk checksums.
#include "data/png.h"

#include <zlib.h>

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
