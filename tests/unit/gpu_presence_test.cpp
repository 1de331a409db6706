// When trifecta says "no GPU": only when there is none. TRIFECTA_REQUIRE_GPU=1 turns that answer into an
// error (so no CUDA test can pass by skipping), and with the CUDA backend, only "no device" and "no driver
// at all" count as no GPU, while a broken installation (an old driver, a stub libcuda) is an error instead.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "tensor/backend.h"
#include "tests/harness/expect_error.h"

#if TRIFECTA_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace trifecta {
namespace {

// Sets or clears TRIFECTA_REQUIRE_GPU for one scope, restoring what the environment had.
class RequireGpuSetting {
 public:
  explicit RequireGpuSetting(const char* value) {
    if (const char* old = std::getenv("TRIFECTA_REQUIRE_GPU")) saved_ = old;
    if (value)
      ::setenv("TRIFECTA_REQUIRE_GPU", value, 1);
    else
      ::unsetenv("TRIFECTA_REQUIRE_GPU");
  }
  ~RequireGpuSetting() {
    if (saved_)
      ::setenv("TRIFECTA_REQUIRE_GPU", saved_->c_str(), 1);
    else
      ::unsetenv("TRIFECTA_REQUIRE_GPU");
  }
  RequireGpuSetting(const RequireGpuSetting&) = delete;
  RequireGpuSetting& operator=(const RequireGpuSetting&) = delete;

 private:
  std::optional<std::string> saved_;
};

TEST(GpuPresence, RequiringAGpuTurnsItsAbsenceIntoAnError) {
  bool present = false;
  {
    const RequireGpuSetting unset(nullptr);
    EXPECT_FALSE(gpu_required());
    present = cuda_available();
  }
  {
    const RequireGpuSetting off("0");
    EXPECT_FALSE(gpu_required());
    EXPECT_EQ(cuda_available(), present);
  }
  const RequireGpuSetting on("1");
  EXPECT_TRUE(gpu_required());
  if (present)
    EXPECT_TRUE(cuda_available());
  else
    testing::expect_op_error([] { cuda_available(); }, "cuda", "TRIFECTA_REQUIRE_GPU=1");
}

#if TRIFECTA_WITH_CUDA
TEST(GpuPresence, OnlyNoDeviceOrNoDriverMeansNoGpu) {
  using cuda_backend::gpu_presence;
  using enum cuda_backend::GpuPresence;
  EXPECT_EQ(gpu_presence(cudaSuccess, 1, 13000), Present);
  EXPECT_EQ(gpu_presence(cudaSuccess, 0, 13000), Absent);
  EXPECT_EQ(gpu_presence(cudaErrorNoDevice, 0, 13000), Absent);
  EXPECT_EQ(gpu_presence(cudaErrorInsufficientDriver, 0, 0), Absent);  // no NVIDIA driver installed
  EXPECT_EQ(gpu_presence(cudaErrorInsufficientDriver, 0, 12020), Broken);  // a driver older than the runtime
  EXPECT_EQ(gpu_presence(cudaErrorStubLibrary, 0, 0), Broken);
  EXPECT_EQ(gpu_presence(cudaErrorDevicesUnavailable, 0, 13000), Broken);
  EXPECT_EQ(gpu_presence(cudaErrorSystemDriverMismatch, 0, 13000), Broken);
}
#endif

}  // namespace
}  // namespace trifecta
