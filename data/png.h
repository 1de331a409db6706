// A PNG encoder for 8-bit grayscale and RGB pictures, and a decoder for 8-bit non-interlaced ones (W3C, "Portable Network Graphics (PNG) Specification",
// 2nd edition): the 8-byte signature, then chunks of [length, type, data, CRC-32 of type and data]: IHDR
// (size and pixel format), one IDAT (the zlib-deflated rows, each led by its filter type byte) and IEND.
// Every row the encoder writes uses filter 0 (None): other filters shrink photographs, but the pictures here
// are small. The decoder undoes all five filters (section 9), since other programs' files use them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trifecta {

// pixels holds height rows of width * channels bytes (channels 1: gray, 3: RGB), top row first.
std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels);
// Writes the encoded picture atomically: the file at path is complete or untouched.
void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height, int channels);

struct DecodedPng {
  int64_t width = 0, height = 0;
  int channels = 0;             // 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;  // height rows of width * channels bytes, top row first
};
// Decodes a PNG of 8-bit samples (color types gray, gray + alpha, RGB, RGBA; no interlacing), checking every
// chunk's CRC. Anything else (another bit depth, a palette, interlacing, a truncated or corrupt file) is an
// Error naming `name` (the file) and what is wrong.
DecodedPng decode_png(const std::string& bytes, const std::string& name);
DecodedPng read_png(const std::string& path);

}  // namespace trifecta
