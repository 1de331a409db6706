// CPU-only builds: every CUDA entry point reports that the backend was not compiled in.
#include "tensor/backend.h"
#include "tensor/error.h"

namespace trifecta {

bool cuda_compiled() { return false; }
bool cuda_available() {
  TRIFECTA_CHECK(!gpu_required(), "cuda", "TRIFECTA_REQUIRE_GPU=1, but this build of trifecta has no CUDA backend "
                 "(configure with -DTRIFECTA_CUDA=ON)");
  return false;
}

namespace cuda_backend {

namespace {
[[noreturn]] void not_compiled(const char* what) {
  TRIFECTA_FAIL(what, "this build of trifecta has no CUDA backend (configure with -DTRIFECTA_CUDA=ON)");
}
}  // namespace

int device_count() { return 0; }
Allocator& allocator(Device) { not_compiled("cuda allocator"); }
Allocator& pinned_host_allocator() { not_compiled("pinned host allocator"); }
void copy_bytes(void*, Device, const void*, Device, size_t) { not_compiled("copy to cuda"); }
void synchronize() {}
void copy_to_device_async(void*, Device, const void*, size_t) { not_compiled("copy to cuda"); }

StreamEvent::~StreamEvent() = default;
StreamEvent::StreamEvent(StreamEvent&&) noexcept = default;
StreamEvent& StreamEvent::operator=(StreamEvent&&) noexcept = default;
void StreamEvent::record() {}
void StreamEvent::wait() const {}

}  // namespace cuda_backend
}  // namespace trifecta
