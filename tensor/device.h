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

// True when this build has the CUDA backend and a device is visible at run time.
bool cuda_available();
// True when this build was compiled with the CUDA backend (it may still find no device).
bool cuda_compiled();

}  // namespace trifecta
