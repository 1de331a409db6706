// IDX reading on zlib's gz* interface, which inflates as it reads: a prefix of a file costs only the
// decompression of that prefix.
#include "data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "tensor/error.h"

namespace trifecta {

namespace {

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}

uint32_t big_endian_u32(const uint8_t* bytes) {
  return (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | uint32_t{bytes[3]};
}

// Reads up to n bytes; fewer only at the end of the data. Afterwards, stream_problem says why it ended early:
// empty for a clean end of file, else a cut-off or corrupt gzip stream, or a failed read.
size_t read_up_to(gzFile file, uint8_t* out, size_t n, std::string& stream_problem) {
  size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t{1} << 24));
    const int got = gzread(file, out + done, chunk);
    if (got > 0) done += static_cast<size_t>(got);
    if (got != static_cast<int>(chunk)) break;
  }
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code == Z_BUF_ERROR) {
    stream_problem = "the gzip stream is cut off";
  } else if (code == Z_ERRNO) {
    stream_problem = std::string("read error: ") + std::strerror(errno);
  } else if (code != Z_OK) {
    stream_problem = std::string("the gzip stream is corrupt: ") + message;
  }
  return done;
}

}  // namespace

std::string item_dims_text(const std::vector<int64_t>& dims) {
  std::string text;
  for (size_t d = 1; d < dims.size(); ++d) {
    if (d > 1) text += 'x';
    text += std::to_string(dims[d]);
  }
  return text;
}

IdxBytes read_idx_bytes(const std::string& path, int rank, const std::string& item_name, int64_t limit) {
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"));
  TRIFECTA_CHECK(file, path, "cannot open: ", errno != 0 ? std::strerror(errno) : "out of memory");
  gzbuffer(file.get(), 1 << 20);

  std::string stream_problem;
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(rank);
  std::vector<uint8_t> header(header_bytes);
  const size_t header_read = read_up_to(file.get(), header.data(), header_bytes, stream_problem);
  TRIFECTA_CHECK(header_read == header_bytes, path, "truncated: the file ends inside the IDX header (",
                 header_read, " of ", header_bytes, " bytes)", stream_problem.empty() ? "" : "; ", stream_problem);
  const uint32_t magic = big_endian_u32(header.data());
  const uint32_t expected_magic = (uint32_t{kIdxUnsignedByte} << 8) | static_cast<uint32_t>(rank);
  TRIFECTA_CHECK(magic == expected_magic, path, "not an IDX file of unsigned bytes with ", rank,
                 " dimensions: magic number ", hex32(magic), ", expected ", hex32(expected_magic));

  IdxBytes result;
  for (int d = 0; d < rank; ++d) result.dims.push_back(big_endian_u32(header.data() + 4 + 4 * d));
  const int64_t count = result.dims[0];
  const int64_t wanted = limit >= 0 ? std::min(limit, count) : count;
  const std::string item_text = item_name + (rank > 1 ? " of " + item_dims_text(result.dims) : "");

  // Each dim is up to 2^32 - 1, so the sizes are checked products: 2^16 items of 2^24 x 2^24 bytes would
  // wrap to 0 bytes and "read" a file with no data. The whole file's size is checked even when a limit asks
  // for fewer items, since the callers size tensors from the header.
  int64_t item_bytes = 1, file_bytes = count;
  bool overflow = false;
  for (int d = 1; d < rank; ++d) overflow |= __builtin_mul_overflow(item_bytes, result.dims[d], &item_bytes);
  overflow |= __builtin_mul_overflow(file_bytes, item_bytes, &file_bytes);
  TRIFECTA_CHECK(!overflow, path, "header declares ", count, " ", item_text, ": too large, over 2^63 bytes");

  // The buffer grows as data arrives rather than trusting the header's size up front: a corrupt header
  // claiming billions of items then ends as "truncated", not as an attempt to allocate terabytes.
  const size_t wanted_bytes = static_cast<size_t>(wanted) * static_cast<size_t>(item_bytes);
  size_t have = 0;
  while (have < wanted_bytes) {
    const size_t step = std::min<size_t>(wanted_bytes - have, std::max<size_t>(have, size_t{1} << 20));
    result.data.resize(have + step);
    const size_t got = read_up_to(file.get(), result.data.data() + have, step, stream_problem);
    have += got;
    if (got < step) break;
  }
  result.data.resize(have);
  const int64_t complete_items = item_bytes > 0 ? static_cast<int64_t>(have) / item_bytes : wanted;
  TRIFECTA_CHECK(have == wanted_bytes, path, "truncated: header says ", count, " ", item_text,
                 " but the file ends after ", complete_items, " ", item_name,
                 stream_problem.empty() ? "" : " (", stream_problem, stream_problem.empty() ? "" : ")");
  result.items = wanted;

  if (wanted == count) {
    // A whole file was asked for: anything after the declared items means the header and the data disagree,
    // and a gzip stream damaged after the last item (its CRC, say) is still a damaged file.
    uint8_t extra = 0;
    const size_t more = read_up_to(file.get(), &extra, 1, stream_problem);
    TRIFECTA_CHECK(more == 0, path, "data continues after the ", count, " ", item_name, " the header declares");
    TRIFECTA_CHECK(stream_problem.empty(), path, "after the ", count, " ", item_name, ": ", stream_problem);
  }
  return result;
}

}  // namespace trifecta
