// The teaching SGEMM kernels: every version against cuBLAS (trifecta's matmul) on sizes that are not
// multiples of any tile, on the float4 and the scalar load paths; and, on any machine, the argument checks.
#include <gtest/gtest.h>

#include "kernels/matmul/sgemm_teaching.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

void expect_rejected(const std::function<void()>& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing \"" << fragment << "\"";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("teaching_sgemm", 0), 0u) << "the error should name teaching_sgemm: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

// These need no GPU: the checks run before anything touches the device.
TEST(TeachingSgemm, ValidatesArguments) {
  const Tensor a = randn({4, 3}), b = randn({3, 5}), out = empty({4, 5});
  expect_rejected([&] { teaching_sgemm(0, a, b, out); }, "version must be in 1..");
  expect_rejected([&] { teaching_sgemm(kTeachingSgemmVersions + 1, a, b, out); }, "version must be in 1..");
  expect_rejected([&] { teaching_sgemm(1, Tensor(), b, out); }, "undefined");
  expect_rejected([&] { teaching_sgemm(1, randn({2, 4, 3}), b, out); }, "expects matrices");
  expect_rejected([&] { teaching_sgemm(1, a.to(DType::Float64), b, out); }, "float32");
  expect_rejected([&] { teaching_sgemm(1, a, randn({4, 5}), out); }, "shapes disagree");
  expect_rejected([&] { teaching_sgemm(1, a, b, empty({4, 6})); }, "shapes disagree");
  expect_rejected([&] { teaching_sgemm(1, randn({3, 4}).t(), b, out); }, "contiguous");
  expect_rejected([&] { teaching_sgemm(1, a, b, out); }, "expects CUDA tensors");
}

struct Size {
  int64_t m, n, k;
};

// Random a, b on the device, optionally starting one float into their storage so that no pointer is
// 16-byte aligned (the scalar path of versions 4 and 5 even when K and N are multiples of 4).
Tensor device_matrix(int64_t rows, int64_t cols, bool misaligned, Generator& generator) {
  const Tensor storage = randn({rows * cols + 1}, {DType::Float32, kCUDA}, &generator);
  return storage.narrow(0, misaligned ? 1 : 0, rows * cols).view({rows, cols});
}

TEST(TeachingSgemm, EveryVersionMatchesCublas) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  Generator generator(1234);
  const std::vector<Size> sizes = {{1, 1, 1}, {17, 33, 9}, {130, 65, 257}, {256, 256, 256}, {129, 132, 36}, {5, 7, 0}};
  for (const Size& s : sizes) {
    for (bool misaligned : {false, true}) {
      const Tensor a = device_matrix(s.m, s.k, misaligned, generator), b = device_matrix(s.k, s.n, misaligned, generator);
      const Tensor expected = matmul(a, b);  // cuBLAS, float32 without TF32
      for (int version = 1; version <= kTeachingSgemmVersions; ++version) {
        const Tensor out = device_matrix(s.m, s.n, misaligned, generator);  // garbage the kernel must overwrite
        teaching_sgemm(version, a, b, out);
        // Summation orders differ; each output sums K products of N(0, 1) values.
        const double atol = 1e-5 * static_cast<double>(s.k);
        EXPECT_TRUE(tensors_close(out.to(kCPU), expected.to(kCPU), {1e-4, atol},
                                  "version " + std::to_string(version) + " at " + std::to_string(s.m) + "x" +
                                      std::to_string(s.n) + "x" + std::to_string(s.k) +
                                      (misaligned ? " (misaligned)" : "")));
      }
    }
  }
}

}  // namespace
}  // namespace trifecta::testing
