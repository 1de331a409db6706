// Device selection, thread count and seed derivation for the model binaries.
#include "models/common/runtime.h"

#include "kernels/common/parallel.h"
#include "tensor/error.h"

namespace trifecta {

void add_runtime_flags(Flags& flags) {
  flags.add_string("device", "auto", "cpu, cuda, or auto (cuda when a GPU is visible)", Flags::OnResume::Invocation);
  flags.add_int("threads", 0, "CPU threads (0: all cores)", Flags::OnResume::Invocation);
}

Device select_device(const Flags& flags) {
  const std::string where = flags.command() + " --device";
  const std::string name = flags.get_string("device");
  if (name == "auto") return cuda_available() ? kCUDA : kCPU;
  const Device device = [&] {
    try {
      return Device::parse(name);
    } catch (const Error& e) {
      TRIFECTA_FAIL(where, e.what());
    }
  }();
  if (device.is_cuda())
    TRIFECTA_CHECK(cuda_available(), where,
                   cuda_compiled() ? "cuda was asked for but no CUDA device is visible"
                                   : "cuda was asked for but this build has no CUDA backend");
  return device;
}

void apply_threads(const Flags& flags) {
  const int64_t threads = flags.get_int("threads");
  TRIFECTA_CHECK(threads >= 0 && threads <= 1024, flags.command() + " --threads", "expects 0 (all cores) to 1024, got ",
                 threads);
  if (threads > 0) set_num_threads(static_cast<int>(threads));
}

// The xor constants give each stream its own Philox key; they are fixed forever, since the PyTorch twin
// (bench/reference/vae_torch.py) and every recorded result depend on them.
Seeds::Seeds(uint64_t seed) : data(seed), init(seed), noise(seed ^ 0x9E3779B97F4A7C15ull), eval(seed ^ 0xD1B54A32D192ED03ull) {}

}  // namespace trifecta
