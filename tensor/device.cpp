// Parsing and printing devices ("cpu", "cuda", "cuda:0"), and whether a GPU is required.
#include "tensor/device.h"

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "tensor/error.h"

namespace trifecta {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return kCPU;
  if (text == "cuda") return kCUDA;
  if (text.rfind("cuda:", 0) == 0) {
    // from_chars, unlike stoi, reports an index too large for int instead of throwing std::out_of_range.
    const std::string index = text.substr(5);
    int value = 0;
    const bool digits = !index.empty() && index.find_first_not_of("0123456789") == std::string::npos;
    TRIFECTA_CHECK(digits && std::from_chars(index.data(), index.data() + index.size(), value).ec == std::errc(),
                   "device", "cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
    return Device(DeviceType::CUDA, value);
  }
  TRIFECTA_FAIL("device", "cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
}

bool gpu_required() {
  const char* setting = std::getenv("TRIFECTA_REQUIRE_GPU");
  return setting != nullptr && std::strcmp(setting, "1") == 0;
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace trifecta
