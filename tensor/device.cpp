// Parsing and printing devices ("cpu", "cuda", "cuda:0").
#include "tensor/device.h"

#include "tensor/error.h"

namespace trifecta {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return kCPU;
  if (text == "cuda") return kCUDA;
  if (text.rfind("cuda:", 0) == 0) {
    const std::string index = text.substr(5);
    TRIFECTA_CHECK(!index.empty() && index.find_first_not_of("0123456789") == std::string::npos, "device",
                   "cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
    return Device(DeviceType::CUDA, std::stoi(index));
  }
  TRIFECTA_FAIL("device", "cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace trifecta
