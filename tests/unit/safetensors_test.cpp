// safetensors files and the JSON they carry: round trips of every dtype, strided and device tensors, and a
// clear error for each way a file can be broken.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"

namespace trifecta {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("trifecta_" + std::to_string(::getpid()) + "_" + name)).string();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripsEveryDtypeShapeAndMetadata) {
  const std::string path = temp_path("roundtrip.safetensors");
  const Tensor f32 = randn({3, 4});
  const Tensor strided = randn({4, 6}).t().slice(0, 0, 6, 2);  // non-contiguous: written dense
  NamedTensors tensors = {{"f32", f32},
                          {"f64", randn({2}, DType::Float64)},
                          {"i32", arange(5, DType::Int32)},
                          {"i64", arange(7)},
                          {"bool", lt(rand({5}), 0.5)},
                          {"bf16", randn({2, 2}).to(DType::BFloat16)},
                          {"f16", randn({3}).to(DType::Float16)},
                          {"scalar", scalar_tensor(2.5)},
                          {"empty", zeros({0, 3})},
                          {"strided", strided}};
  save_safetensors(path, tensors, {{"step", "42"}, {"note", "quote \" and newline \n"}});
  const TensorFile file = load_safetensors(path);
  EXPECT_EQ(file.metadata.at("step"), "42");
  EXPECT_EQ(file.metadata.at("note"), "quote \" and newline \n");
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, original] : tensors) {
    const Tensor& loaded = file.get(name);
    EXPECT_EQ(loaded.dtype(), original.dtype()) << name;
    EXPECT_EQ(loaded.shape(), original.shape()) << name;
    EXPECT_EQ(loaded.to_vector<double>(), original.to_vector<double>()) << name;
  }
  std::filesystem::remove(path);
}

TEST(Safetensors, HeaderFollowsTheFormat) {
  const std::string path = temp_path("format.safetensors");
  save_safetensors(path, {{"w", ones({2, 3})}});
  const std::string bytes = read_bytes(path);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ(length % 8, 0u) << "the header is padded to 8-byte alignment";
  const Json header = json::parse(bytes.substr(8, length), "header");
  EXPECT_EQ(header.at("w").at("dtype"), "F32");
  EXPECT_EQ(header.at("w").at("data_offsets"), Json::array({0, 24}));
  EXPECT_EQ(bytes.size(), 8 + length + 24);
  std::filesystem::remove(path);
}

TEST(Safetensors, AtomicWriteLeavesNoTemporaryAndReplacesTheFile) {
  const std::string path = temp_path("atomic.safetensors");
  save_safetensors(path, {{"a", zeros({2})}});
  save_safetensors(path, {{"a", ones({3})}});
  EXPECT_EQ(load_safetensors(path).get("a").numel(), 3);
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path()))
    EXPECT_EQ(entry.path().string().find(path + ".tmp"), std::string::npos) << "left behind: " << entry.path();
  std::filesystem::remove(path);
}

TEST(Safetensors, BrokenFilesGiveClearErrors) {
  const std::string path = temp_path("broken.safetensors");
  EXPECT_NE(error_of([&] { load_safetensors(path + ".missing"); }).find("cannot open"), std::string::npos);

  save_safetensors(path, {{"w", ones({4, 4})}});
  const std::string good = read_bytes(path);
  write_bytes(path, good.substr(0, good.size() - 10));
  EXPECT_NE(error_of([&] { load_safetensors(path); }).find("truncated"), std::string::npos);

  write_bytes(path, good.substr(0, 5));
  EXPECT_NE(error_of([&] { load_safetensors(path); }).find("truncated"), std::string::npos);

  std::string corrupt = good;
  corrupt[8] = '#';  // the header's opening brace
  write_bytes(path, corrupt);
  EXPECT_NE(error_of([&] { load_safetensors(path); }).find("invalid JSON"), std::string::npos);

  std::string huge_length = good;
  huge_length[7] = '\x7f';
  write_bytes(path, huge_length);
  EXPECT_NE(error_of([&] { load_safetensors(path); }).find("header claims"), std::string::npos);

  save_safetensors(path, {{"w", ones({2})}});
  EXPECT_NE(error_of([&] { load_safetensors(path).get("v"); }).find("no tensor named 'v'"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace trifecta
