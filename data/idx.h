// IDX, the array format of LeCun, Cortes and Burges' MNIST distribution, which Fashion-MNIST copies: a
// 4-byte magic number (two zero bytes, a type code, the rank), one big-endian uint32 per dimension, then the
// elements in row-major order. Files are read through zlib, so gzipped ones need no unpacking (zlib passes
// an uncompressed file through unchanged).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trifecta {

// The IDX type code of unsigned bytes, the only element type the MNIST-style datasets use.
constexpr uint8_t kIdxUnsignedByte = 0x08;

struct IdxBytes {
  std::vector<int64_t> dims;  // as the header declares them; dims[0] counts the items
  int64_t items = 0;          // items read: dims[0], or fewer when a limit was given
  std::vector<uint8_t> data;  // items * (product of dims[1:]) bytes, row-major
};

// Reads an IDX file of unsigned bytes with the given rank. item_name names one item in error messages
// ("images", "labels"). With limit >= 0 only the first min(limit, count) items are decompressed and read,
// which makes small test subsets cheap; without one, data after the declared items is an error too.
// A missing, truncated (IDX body or gzip stream) or corrupt file, or a wrong magic number, is an Error
// naming the path and what is wrong.
IdxBytes read_idx_bytes(const std::string& path, int rank, const std::string& item_name, int64_t limit = -1);

// "28x28": the dims of one item, for messages.
std::string item_dims_text(const std::vector<int64_t>& dims);

}  // namespace trifecta
