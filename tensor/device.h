// Where a tensor's storage lives: host memory or one CUDA device.
#pragma once

#include <cstdint>
#include <string>

namespace trifecta {

enum class DeviceType : uint8_t { CPU = 0, CUDA = 1 };
constexpr int kNumDeviceTypes = 2;

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  constexpr Device() = default;
  constexpr Device(DeviceType t, int i = 0) : type(t), index(i) {}
  static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"

  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const;
};

inline constexpr Device kCPU{DeviceType::CPU, 0};
inline constexpr Device kCUDA{DeviceType::CUDA, 0};

// True when this build has the CUDA backend and a device is visible at run time; false on a machine with no
// GPU or no NVIDIA driver. Throws an Error when CUDA is there but broken (tensor/backend_cuda.cpp), and when
// gpu_required() and there is no GPU to use: then whatever would quietly skip or fall back to the CPU fails.
bool cuda_available();
// True when the environment sets TRIFECTA_REQUIRE_GPU=1 (scripts/gpu_check.sh does, so that no CUDA test
// can pass by skipping).
bool gpu_required();
// True when this build was compiled with the CUDA backend (it may still find no device).
bool cuda_compiled();

}  // namespace trifecta
