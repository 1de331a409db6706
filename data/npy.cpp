// The .npy reader and writer. The header is parsed by a small recursive-descent reader of exactly the
// Python literals NumPy writes there (a dict of a string, a bool and a tuple of integers), never evaluated.
#include "data/npy.h"

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tensor/error.h"
#include "tensor/safetensors.h"

namespace trifecta {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

// One pass over the header text; every failure names the file and the byte where it happened.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text) : path_(path), text_(text) {}

  NpyArray parse() {
    NpyArray array;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (consume('}')) break;
      const std::string key = string_literal("a key");
      expect(':');
      if (key == "descr") {
        check_once(have_descr, key);
        array.dtype = dtype_of(string_literal("the dtype"));
      } else if (key == "fortran_order") {
        check_once(have_order, key);
        TRIFECTA_CHECK(!boolean(), path_, "holds a Fortran-order (column-major) array; only C order is supported "
                       "(write it with np.save(path, np.ascontiguousarray(a)))");
      } else if (key == "shape") {
        check_once(have_shape, key);
        array.shape = shape_tuple();
      } else {
        fail("unexpected header key '", key, "' (a .npy header holds descr, fortran_order and shape)");
      }
      skip_space();
      if (consume('}')) break;
      expect(',');
    }
    TRIFECTA_CHECK(have_descr && have_order && have_shape, path_,
                   "header lacks one of 'descr', 'fortran_order', 'shape': ", text_);
    // After the dict only the padding: spaces, then the final newline.
    size_t end = text_.size();
    TRIFECTA_CHECK(end > 0 && text_[end - 1] == '\n', path_, "header does not end with a newline");
    for (size_t i = pos_; i + 1 < end; ++i)
      TRIFECTA_CHECK(text_[i] == ' ' || text_[i] == '\t', path_, "unexpected bytes after the header dict at offset ", i);
    return array;
  }

 private:
  template <class... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    TRIFECTA_FAIL(path_, "malformed .npy header at byte ", pos_, ": ", parts...);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) fail("expected '", c, "'");
  }
  void check_once(bool& seen, const std::string& key) {
    if (seen) fail("key '", key, "' appears twice");
    seen = true;
  }

  std::string string_literal(const char* what) {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected ", what, " as a string");
    const char quote = text_[pos_++];
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\n') fail("unterminated string");
      if (text_[pos_] == '\\') fail("escapes are not allowed in ", what);
      ++pos_;
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    return text_.substr(start, pos_++ - start);
  }

  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (text_.compare(pos_, n, word) == 0) {
        pos_ += n;
        return value;
      }
    }
    fail("expected True or False for fortran_order");
  }

  // (), (7,), (10, 1, 28, 28) and (10, 1, 28, 28,): non-negative integers of at most 18 digits, so none
  // overflows int64 here; their product is checked against the file's size by the caller.
  std::vector<int64_t> shape_tuple() {
    std::vector<int64_t> shape;
    expect('(');
    while (true) {
      if (consume(')')) return shape;
      skip_space();
      const size_t start = pos_;
      int64_t value = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (pos_ - start == 18) fail("a dimension has more than 18 digits");
        value = value * 10 + (text_[pos_++] - '0');
      }
      if (pos_ == start) fail("expected a non-negative integer in the shape");
      shape.push_back(value);
      TRIFECTA_CHECK(shape.size() <= 8, path_, "has more than 8 dimensions");
      if (consume(')')) {
        // Python writes a 1-tuple as (n,); (n) is just n, not a tuple.
        if (shape.size() == 1) fail("a one-dimensional shape is written (n,)");
        return shape;
      }
      expect(',');
    }
  }

  NpyDType dtype_of(const std::string& descr) const {
    for (const NpyDType d : {NpyDType::Float32, NpyDType::Float64, NpyDType::UInt8})
      if (descr == npy_descr(d)) return d;
    TRIFECTA_FAIL(path_, "has dtype '", descr, "'; supported: '<f4' (float32), '<f8' (float64), '|u1' (uint8), "
                  "little-endian (convert with a.astype('<f4'))");
  }

  const std::string& path_;
  const std::string& text_;
  size_t pos_ = 0;
};

uint32_t little_endian(const std::string& bytes, size_t at, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return value;
}

std::string read_whole_file(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  TRIFECTA_CHECK(std::filesystem::exists(status), path, "no such file");
  TRIFECTA_CHECK(std::filesystem::is_regular_file(status), path, "is not a regular file");
  std::ifstream in(path, std::ios::binary);
  TRIFECTA_CHECK(in, path, "cannot open for reading");
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  TRIFECTA_CHECK(!in.bad(), path, "read failed");
  return bytes;
}

}  // namespace

const char* npy_descr(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::Float32: return "<f4";
    case NpyDType::Float64: return "<f8";
    case NpyDType::UInt8: return "|u1";
  }
  return "?";
}

size_t npy_element_size(NpyDType dtype) {
  switch (dtype) {
    case NpyDType::Float32: return 4;
    case NpyDType::Float64: return 8;
    case NpyDType::UInt8: return 1;
  }
  return 0;
}

NpyArray read_npy(const std::string& path) {
  const std::string bytes = read_whole_file(path);
  TRIFECTA_CHECK(bytes.size() >= kMagicSize + 4 && bytes.compare(0, kMagicSize, kMagic, kMagicSize) == 0, path,
                 "is not a .npy file (it does not start with \\x93NUMPY and a version)");
  const int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  TRIFECTA_CHECK(major >= 1 && major <= 3 && minor == 0, path, "has .npy format version ", major, ".", minor,
                 "; supported: 1.0, 2.0, 3.0");
  // Version 1.0 gives the header length in 2 bytes, later versions in 4 (NEP 1, "Format Specification").
  const size_t length_width = major == 1 ? 2 : 4;
  TRIFECTA_CHECK(bytes.size() >= 8 + length_width, path, "is truncated inside its header length");
  const size_t header_start = 8 + length_width;
  const size_t header_length = little_endian(bytes, 8, length_width);
  TRIFECTA_CHECK(header_length <= bytes.size() - header_start, path, "is truncated: the header claims ", header_length,
                 " bytes but the file holds ", bytes.size() - header_start, " after the header length");
  const std::string header = bytes.substr(header_start, header_length);
  NpyArray array = HeaderParser(path, header).parse();

  Shape(array.shape).numel(path);  // also rejects shapes like (0, 10**18, 10**18) whose strides overflow
  const size_t body_start = header_start + header_length, body_size = bytes.size() - body_start;
  size_t expected = npy_element_size(array.dtype);
  for (const int64_t d : array.shape)
    TRIFECTA_CHECK(!__builtin_mul_overflow(expected, static_cast<size_t>(d), &expected), path, "shape ",
                   Shape(array.shape).str(), " is too large");
  TRIFECTA_CHECK(body_size == expected, path, body_size < expected ? "is truncated" : "has trailing bytes",
                 ": shape ", Shape(array.shape).str(), " of ", npy_descr(array.dtype), " needs ", expected,
                 " bytes of data, the file holds ", body_size);
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(body_start), bytes.end());
  return array;
}

Tensor npy_to_tensor(const NpyArray& array) {
  const Shape shape(array.shape);
  Tensor result = empty(shape, DType::Float64);
  double* out = result.data<double>();
  const size_t n = static_cast<size_t>(shape.numel("npy_to_tensor"));
  const unsigned char* in = array.data.data();
  for (size_t i = 0; i < n; ++i) {
    switch (array.dtype) {
      case NpyDType::Float32: {
        float v;
        std::memcpy(&v, in + 4 * i, 4);
        out[i] = v;
        break;
      }
      case NpyDType::Float64: std::memcpy(out + i, in + 8 * i, 8); break;
      case NpyDType::UInt8: out[i] = in[i]; break;
    }
  }
  return result;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  const DType dtype = tensor.dtype();
  TRIFECTA_CHECK(dtype == DType::Float32 || dtype == DType::Float64, path, "write_npy takes float32 or float64, got ",
                 dtype_name(dtype));
  const Tensor host = tensor.to(kCPU).contiguous();
  std::string shape = "(";
  for (int d = 0; d < host.ndim(); ++d) shape += std::to_string(host.size(d)) + (host.ndim() == 1 ? ",)" : d + 1 < host.ndim() ? ", " : ")");
  if (host.ndim() == 0) shape += ")";
  std::string header = std::string("{'descr': '") + (dtype == DType::Float32 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts at a multiple of 64 bytes (10 bytes of magic, version and length).
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string file(kMagic, kMagicSize);
  file += '\x01';
  file += '\x00';
  file += static_cast<char>(header.size() & 0xFF);
  file += static_cast<char>(header.size() >> 8);
  file += header;
  file.append(static_cast<const char*>(host.raw_data()), dense_nbytes(host.shape(), dtype, path));
  write_file_atomically(path, file);
}

}  // namespace trifecta
