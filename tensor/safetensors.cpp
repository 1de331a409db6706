// safetensors serialization. The header's dtype names are the format's (F32, BF16, I64, BOOL, ...).
#include "tensor/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "kernels/copy/copy.h"
#include "tensor/json.h"

namespace trifecta {

namespace {

// The reference implementation's limit (safetensors' MAX_HEADER_SIZE): a larger header is refused before
// any of it is read, and never written.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* format_dtype(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
    case DType::BFloat16: return "BF16";
    case DType::Float16: return "F16";
  }
  return "";
}

DType parse_dtype(const std::string& name, const std::string& where) {
  for (DType d : {DType::Float32, DType::Float64, DType::Int32, DType::Int64, DType::Bool, DType::BFloat16, DType::Float16})
    if (name == format_dtype(d)) return d;
  TRIFECTA_FAIL(where, "unsupported dtype '", name, "'");
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

bool TensorFile::has(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

const Tensor& TensorFile::get(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  TRIFECTA_FAIL(path, "has no tensor named '", name, "'");
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TRIFECTA_CHECK(fd >= 0, path, "cannot create ", temporary, ": ", errno_text());
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = errno_text();
      ::close(fd);
      ::unlink(temporary.c_str());
      TRIFECTA_FAIL(path, "write failed: ", reason);
    }
    written += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave the new name pointing at data not yet on disk.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    TRIFECTA_FAIL(path, "could not flush to disk: ", reason);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(temporary.c_str());
    TRIFECTA_FAIL(path, "could not move the finished file into place: ", reason);
  }
  // Persist the rename itself.
  const std::string directory = std::filesystem::path(path).parent_path().empty()
                                    ? std::string(".")
                                    : std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  uint64_t data_size = 0;
  for (const auto& [name, tensor] : tensors) {
    TRIFECTA_CHECK(tensor.defined(), path, "tensor '", name, "' is undefined");
    TRIFECTA_CHECK(name != "__metadata__" && !header.contains(name), path, "duplicate or reserved tensor name '", name, "'");
    const size_t bytes = dense_nbytes(tensor.shape(), tensor.dtype(), path);
    header[name] = {{"dtype", format_dtype(tensor.dtype())},
                    {"shape", tensor.shape().vec()},
                    {"data_offsets", Json::array({data_size, data_size + bytes})}};
    data_size += bytes;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string header_text = json::dump(header, path);
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // the format pads the header to 8-byte alignment
  TRIFECTA_CHECK(header_text.size() <= kMaxHeaderBytes, path, "the header of ", tensors.size(), " tensors takes ",
                 header_text.size(), " bytes, more than the format's limit of ", kMaxHeaderBytes);
  std::string file(8, '\0');
  const uint64_t length = header_text.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((length >> (8 * i)) & 0xFF);  // little-endian
  file.reserve(8 + header_text.size() + data_size);
  file += header_text;
  for (const auto& [name, tensor] : tensors) {  // dense, on the host, in the order of the offsets above
    Tensor host = empty(tensor.shape(), {tensor.dtype(), kCPU});
    copy_into(host, tensor);
    file.append(static_cast<const char*>(host.raw_data()), dense_nbytes(host.shape(), host.dtype(), path));
  }
  write_file_atomically(path, file);
}

namespace {

// A file opened for reading, closed on every path out. Reads go to a byte offset (pread), so each byte of the
// file is read once, straight to where it belongs.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    TRIFECTA_CHECK(fd_ >= 0, path, "cannot open: ", errno_text());
    struct stat info {};
    if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
      const std::string reason = S_ISDIR(info.st_mode) ? "is a directory" : "is not a regular file";
      ::close(fd_);
      TRIFECTA_FAIL(path, reason);
    }
    size_ = static_cast<uint64_t>(info.st_size);
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  uint64_t size() const { return size_; }
  // Exactly n bytes from offset; a file that shrank since it was opened is an Error, not a short read.
  void read(void* out, uint64_t n, uint64_t offset) const {
    uint64_t done = 0;
    while (done < n) {
      const ssize_t got = ::pread(fd_, static_cast<char*>(out) + done, std::min<uint64_t>(n - done, 1 << 30),
                                  static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      TRIFECTA_CHECK(got > 0, path_, got == 0 ? "truncated while being read" : "read failed: " + errno_text());
      done += static_cast<uint64_t>(got);
    }
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_ = 0;
};

// One tensor's header entry, checked against the format and the data section's size.
struct TensorEntry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // byte range within the data section
};

TensorEntry parse_entry(const std::string& name, const Json& entry, uint64_t data_size, const std::string& path) {
  const std::string where = path + ": tensor '" + name + "'";
  TensorEntry t{name, parse_dtype(json::as_string(json::at(entry, "dtype", where), where), where), {}, 0, 0};
  for (const Json& d : json::as_array(json::at(entry, "shape", where), where)) {
    const int64_t size = json::as_int(d, where);
    TRIFECTA_CHECK(size >= 0, where, "negative dimension ", size);
    t.shape.push_back(size);
  }
  const Json::array_t& offsets = json::as_array(json::at(entry, "data_offsets", where), where);
  TRIFECTA_CHECK(offsets.size() == 2, where, "data_offsets must have two entries");
  t.begin = json::as_uint(offsets[0], where);
  t.end = json::as_uint(offsets[1], where);
  const uint64_t needed = dense_nbytes(t.shape, t.dtype, where);
  TRIFECTA_CHECK(t.begin <= t.end && t.end - t.begin == needed, where, "data_offsets [", t.begin, ", ", t.end,
                 ") do not hold the ", needed, " bytes of ", dtype_name(t.dtype), t.shape.str());
  TRIFECTA_CHECK(t.end <= data_size, where, "needs bytes up to ", t.end, " but the data section has ", data_size,
                 " (truncated file?)");
  return t;
}

}  // namespace

TensorFile load_safetensors(const std::string& path) {
  const InputFile file(path);
  TRIFECTA_CHECK(file.size() >= 8, path, "truncated: ", file.size(), " bytes, shorter than the 8-byte header length");
  unsigned char length_bytes[8];
  file.read(length_bytes, 8, 0);
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= uint64_t{length_bytes[i]} << (8 * i);  // little-endian
  TRIFECTA_CHECK(header_length <= kMaxHeaderBytes, path, "not a safetensors file: the header claims ", header_length,
                 " bytes, more than the format's limit of ", kMaxHeaderBytes);
  TRIFECTA_CHECK(header_length <= file.size() - 8, path, "truncated or not a safetensors file: the header claims ",
                 header_length, " bytes but only ", file.size() - 8, " follow");
  std::string header_text(header_length, '\0');
  file.read(header_text.data(), header_length, 8);
  const Json header = json::parse(header_text, path + " (header)");
  const uint64_t data_start = 8 + header_length, data_size = file.size() - data_start;

  TensorFile result;
  result.path = path;
  std::vector<TensorEntry> entries;
  for (const auto& [name, entry] : json::as_object(header, path + " (header)")) {
    if (name == "__metadata__") {
      const std::string where = path + " (header __metadata__)";
      for (const auto& [key, value] : json::as_object(entry, where)) result.metadata[key] = json::as_string(value, where);
      continue;
    }
    entries.push_back(parse_entry(name, entry, data_size, path));
  }
  // As the format demands (and the reference implementation checks), the tensors' byte ranges, in order,
  // tile the data section exactly: no overlap, which would alias two tensors, and no gap or trailing bytes,
  // which could smuggle a second file's contents (a polyglot) past readers.
  std::stable_sort(entries.begin(), entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return std::tie(a.begin, a.end) < std::tie(b.begin, b.end);
  });
  uint64_t covered = 0;
  for (const TensorEntry& t : entries) {
    TRIFECTA_CHECK(t.begin >= covered, path, "tensor '", t.name, "' at data_offsets [", t.begin, ", ", t.end,
                   ") overlaps the tensor before it, which ends at ", covered);
    TRIFECTA_CHECK(t.begin == covered, path, "data bytes [", covered, ", ", t.begin,
                   ") belong to no tensor (the format allows no gaps)");
    covered = t.end;
  }
  TRIFECTA_CHECK(covered == data_size, path, "the last ", data_size - covered, " bytes of the data section belong to no",
                 " tensor (the format allows no trailing bytes)");
  for (const TensorEntry& t : entries) {
    Tensor tensor = empty(t.shape, {t.dtype, kCPU});
    file.read(tensor.raw_data(), t.end - t.begin, data_start + t.begin);
    if (t.dtype == DType::Bool) {
      // Reading a bool whose byte is neither 0 nor 1 is undefined behaviour in C++ (and in every kernel).
      const auto* bytes = static_cast<const unsigned char*>(tensor.raw_data());
      const auto* bad = std::find_if(bytes, bytes + (t.end - t.begin), [](unsigned char b) { return b > 1; });
      TRIFECTA_CHECK(bad == bytes + (t.end - t.begin), path, "tensor '", t.name, "': BOOL element ", bad - bytes,
                     " is the byte ", int{*bad}, ", not 0 or 1");
    }
    result.tensors.emplace_back(t.name, std::move(tensor));
  }
  return result;
}

}  // namespace trifecta
