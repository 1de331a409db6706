// A PNG encoder for 8-bit grayscale and RGB pictures (W3C, "Portable Network Graphics (PNG) Specification",
// 2nd edition): the 8-byte signature, then chunks of [length, type, data, CRC-32 of type and data]: IHDR
// (size and pixel format), one IDAT (the zlib-deflated rows, each led by its filter type byte) and IEND.
// Every row uses filter 0 (None): other filters shrink photographs, but the pictures here are small.
#pragma once

#include <cstdint>
#include <string>

namespace trifecta {

// pixels holds height rows of width * channels bytes (channels 1: gray, 3: RGB), top row first.
std::string encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels);
// Writes the encoded picture atomically: the file at path is complete or untouched.
void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height, int channels);

}  // namespace trifecta
