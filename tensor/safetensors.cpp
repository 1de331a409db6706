// safetensors serialization. The header's dtype names are the format's (F32, BF16, I64, BOOL, ...).
#include "tensor/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/copy/copy.h"
#include "tensor/json.h"

namespace trifecta {

namespace {

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
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    TRIFECTA_CHECK(tensor.defined(), path, "tensor '", name, "' is undefined");
    TRIFECTA_CHECK(name != "__metadata__" && !header.contains(name), path, "duplicate or reserved tensor name '", name, "'");
    Tensor host = empty(tensor.shape(), {tensor.dtype(), kCPU});
    copy_into(host, tensor);
    const size_t bytes = static_cast<size_t>(host.numel()) * itemsize(host.dtype());
    header[name] = {{"dtype", format_dtype(host.dtype())},
                    {"shape", host.shape().vec()},
                    {"data_offsets", Json::array({data.size(), data.size() + bytes})}};
    data.append(static_cast<const char*>(host.raw_data()), bytes);
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string header_text = json::dump(header, path);
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // the format pads the header to 8-byte alignment
  std::string file(8, '\0');
  const uint64_t length = header_text.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((length >> (8 * i)) & 0xFF);  // little-endian
  file += header_text;
  file += data;
  write_file_atomically(path, file);
}

TensorFile load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRIFECTA_CHECK(in.good(), path, "cannot open: ", errno_text());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string file = buffer.str();
  TRIFECTA_CHECK(file.size() >= 8, path, "truncated: ", file.size(), " bytes, shorter than the 8-byte header length");
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= static_cast<uint64_t>(static_cast<unsigned char>(file[i])) << (8 * i);
  TRIFECTA_CHECK(header_length <= file.size() - 8, path, "truncated or not a safetensors file: the header claims ",
                 header_length, " bytes but only ", file.size() - 8, " follow");
  const Json header = json::parse(std::string_view(file).substr(8, header_length), path + " (header)");
  const size_t data_start = 8 + header_length;
  const uint64_t data_size = file.size() - data_start;

  TensorFile result;
  result.path = path;
  std::vector<std::pair<uint64_t, std::pair<std::string, Tensor>>> by_offset;
  for (const auto& [name, entry] : json::as_object(header, path)) {
    const std::string where = path + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      for (const auto& [k, v] : json::as_object(entry, where)) result.metadata[k] = json::as_string(v, where);
      continue;
    }
    const DType dtype = parse_dtype(json::as_string(json::at(entry, "dtype", where), where), where);
    Shape shape;
    for (const Json& d : json::as_array(json::at(entry, "shape", where), where)) {
      const int64_t size = json::as_int(d, where);
      TRIFECTA_CHECK(size >= 0, where, "negative dimension ", size);
      shape.push_back(size);
    }
    const Json::array_t& offsets = json::as_array(json::at(entry, "data_offsets", where), where);
    TRIFECTA_CHECK(offsets.size() == 2, where, "data_offsets must have two entries");
    const int64_t begin = json::as_int(offsets[0], where), end = json::as_int(offsets[1], where);
    const uint64_t needed = static_cast<uint64_t>(shape.numel()) * itemsize(dtype);
    TRIFECTA_CHECK(begin >= 0 && end >= begin && static_cast<uint64_t>(end - begin) == needed, where, "data_offsets [",
                   begin, ", ", end, ") do not hold ", needed, " bytes for ", dtype_name(dtype), shape.str());
    TRIFECTA_CHECK(static_cast<uint64_t>(end) <= data_size, where, "needs bytes up to ", end, " but the data section has ",
                   data_size, " (truncated file?)");
    Tensor t = empty(shape, {dtype, kCPU});
    if (needed > 0) std::memcpy(t.raw_data(), file.data() + data_start + begin, needed);
    by_offset.push_back({static_cast<uint64_t>(begin), {name, t}});
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [offset, named] : by_offset) result.tensors.push_back(std::move(named));
  return result;
}

}  // namespace trifecta
