// The .npy reader and writer (data/npy.h): files as NumPy writes them (versions 1.0 and 2.0, the three
// dtypes, 0-d, 1-d and empty arrays, either quote style, keys in any order), a write/read round trip, and a
// clear error for every way a file can be wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/npy.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("trifecta_npy_" + std::to_string(::getpid()) + "_" + name);
}

// A .npy file: magic, version, header length (2 bytes for 1.0, 4 for 2.0), header padded to 64 with '\n'.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1, bool pad = true) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  if (pad) header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  std::string file = "\x93NUMPY";
  file += static_cast<char>(major);
  file += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) file += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return file + header + data;
}

template <class T>
std::string raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string write(const std::string& name, const std::string& bytes) {
  const std::string path = temp_file(name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(Npy, ReadsWhatNumpyWrites) {
  const std::vector<float> f = {0.0f, 0.5f, 1.0f, -2.0f, 3.25f, 7.0f};
  NpyArray a = read_npy(write("f4", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", raw(f))));
  EXPECT_EQ(a.dtype, NpyDType::Float32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(npy_to_tensor(a).to_vector<double>(), (std::vector<double>{0.0, 0.5, 1.0, -2.0, 3.25, 7.0}));

  const std::vector<double> d = {1e-300, -0.125, 42.0};
  a = read_npy(write("f8", npy_bytes("{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<f8\"}", raw(d), 2)));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(npy_to_tensor(a).to_vector<double>(), d);

  a = read_npy(write("u1", npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2)}", std::string("\x00\x01\x80\xff", 4), 1, false)));
  EXPECT_EQ(a.dtype, NpyDType::UInt8);
  EXPECT_EQ(npy_to_tensor(a).to_vector<double>(), (std::vector<double>{0, 1, 128, 255}));

  a = read_npy(write("scalar", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", raw(std::vector<double>{2.5}))));
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(npy_to_tensor(a).item<double>(), 2.5);

  a = read_npy(write("empty", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 28, 28), }", "")));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 1, 28, 28}));
  EXPECT_TRUE(a.data.empty());
}

TEST(Npy, WriteThenReadGivesTheSameArray) {
  for (const DType dtype : {DType::Float32, DType::Float64}) {
    Tensor t = empty({3, 1, 2, 2}, DType::Float64);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = 0.1 * static_cast<double>(i) - 0.3;
    t = t.to(dtype);
    const std::string path = temp_file("roundtrip.npy").string();
    write_npy(path, t.permute({0, 1, 3, 2}));  // strided: written in the logical order
    const NpyArray a = read_npy(path);
    EXPECT_EQ(a.dtype, dtype == DType::Float32 ? NpyDType::Float32 : NpyDType::Float64);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 1, 2, 2}));
    EXPECT_EQ(npy_to_tensor(a).to_vector<double>(), t.permute({0, 1, 3, 2}).contiguous().to(DType::Float64).to_vector<double>());
    // NEP 1: the data starts at a multiple of 64 bytes.
    EXPECT_EQ((fs::file_size(path) - a.data.size()) % 64, 0u);
    fs::remove(path);
  }
  for (const Shape& shape : {Shape{}, Shape{4}}) {
    const std::string path = temp_file("shapes.npy").string();
    write_npy(path, empty(shape, DType::Float32));
    EXPECT_EQ(Shape(read_npy(path).shape), shape);
    fs::remove(path);
  }
  expect_error([] { write_npy(temp_file("int.npy").string(), empty({2}, DType::Int64)); }, "float32 or float64", "int64");
}

TEST(Npy, BadFilesAreClearErrors) {
  const std::string four_floats = raw(std::vector<float>{1, 2, 3, 4});
  const auto with = [&](const std::string& name, const std::string& dict, const std::string& data = "", int major = 1) {
    return write(name, npy_bytes(dict, data, major));
  };
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  struct Case {
    std::string path;
    std::vector<std::string> parts;
  } cases[] = {
      {write("magic", "PK\x03\x04 not numpy at all"), {"is not a .npy file"}},
      {write("short", "\x93NUMPY\x01"), {"is not a .npy file"}},
      {write("version", npy_bytes(ok, four_floats, 4)), {"format version 4.0"}},
      {write("header_cut", npy_bytes(ok, four_floats).substr(0, 40)), {"truncated: the header claims"}},
      {with("data_cut", ok, four_floats.substr(0, 15)), {"is truncated", "needs 16 bytes", "holds 15"}},
      {with("data_long", ok, four_floats + "x"), {"trailing bytes"}},
      {with("fortran", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four_floats), {"Fortran-order"}},
      {with("big_endian", "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four_floats), {"dtype '>f4'"}},
      {with("int", "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", four_floats), {"dtype '<i8'", "supported"}},
      {with("object", "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", four_floats), {"dtype '|O'"}},
      {with("missing", "{'descr': '<f4', 'shape': (4,), }", four_floats), {"lacks one of"}},
      {with("twice", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", four_floats), {"appears twice"}},
      {with("extra_key", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four_floats), {"unexpected header key 'x'"}},
      {with("not_tuple", "{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", four_floats), {"(n,)"}},
      {with("negative", "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", four_floats), {"non-negative integer"}},
      {with("huge", "{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999999, 999999999), }", four_floats), {"too large"}},
      {with("digits", "{'descr': '<f4', 'fortran_order': False, 'shape': (1234567890123456789,), }", four_floats), {"more than 18 digits"}},
      {with("bool", "{'descr': '<f4', 'fortran_order': 0, 'shape': (4,), }", four_floats), {"True or False"}},
      {with("unterminated", "{'descr': '<f4", four_floats), {"unterminated string"}},
      {with("after", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), } junk", four_floats), {"unexpected bytes after"}},
      {write("no_newline", std::string("\x93NUMPY\x01\x00\x03\x00{} ", 13)), {"lacks one of"}},
      {write("no_newline2", std::string("\x93NUMPY\x01\x00\x3c\x00", 10) + ok.substr(0, 59) + "}"), {"does not end with a newline"}},
      {temp_file("does_not_exist").string(), {"no such file"}},
      {fs::temp_directory_path().string(), {"is not a regular file"}},
  };
  for (const Case& c : cases) {
    const std::string message = testing::error_message([&] { read_npy(c.path); });
    EXPECT_NE(message.find(c.path), std::string::npos) << message;
    for (const std::string& part : c.parts) EXPECT_NE(message.find(part), std::string::npos) << c.path << ": " << message;
    if (c.path.find("trifecta_npy_") != std::string::npos) fs::remove(c.path);
  }
}

}  // namespace
}  // namespace trifecta
