// The CUDA runtime side of tensors: device discovery, the stream, the caching device allocator, pinned
// host memory and copies between devices.
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>

#include "tensor/backend.h"
#include "tensor/caching_allocator.h"
#include "tensor/cuda_utils.h"

namespace trifecta {

bool cuda_compiled() { return true; }

bool cuda_available() {
  const int count = cuda_backend::device_count();
  TRIFECTA_CHECK(count > 0 || !gpu_required(), "cuda", "TRIFECTA_REQUIRE_GPU=1, but no CUDA device is visible");
  return count > 0;
}

namespace gpu {

cudaStream_t stream() {
  static cudaStream_t s = [] {
    cudaStream_t created;
    TRIFECTA_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking), "cuda stream");
    return created;
  }();
  return s;
}

int grid_size(int64_t n, int block) {
  static const int max_blocks = [] {
    int device = 0, sms = 0;
    TRIFECTA_CUDA_CHECK(cudaGetDevice(&device), "cuda grid size");
    TRIFECTA_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "cuda grid size");
    return sms * 32;  // 32 blocks per SM keeps every SM busy with room to hide latency
  }();
  const int64_t needed = (n + block - 1) / block;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(needed, max_blocks)));
}

}  // namespace gpu

namespace cuda_backend {

GpuPresence gpu_presence(int count_status, int count, int driver_version) {
  switch (static_cast<cudaError_t>(count_status)) {
    case cudaSuccess: return count > 0 ? GpuPresence::Present : GpuPresence::Absent;
    case cudaErrorNoDevice: return GpuPresence::Absent;
    // The runtime says this too when no driver is installed at all, which is a machine without a GPU.
    case cudaErrorInsufficientDriver: return driver_version == 0 ? GpuPresence::Absent : GpuPresence::Broken;
    default: return GpuPresence::Broken;
  }
}

namespace {

std::string cuda_version(int encoded) {  // 13000 -> "13.0"
  return std::to_string(encoded / 1000) + "." + std::to_string(encoded % 1000 / 10);
}

}  // namespace

int device_count() {
  struct Answer {
    GpuPresence presence;
    int count;
    std::string problem;  // why a broken installation cannot be used
  };
  static const Answer answer = [] {
    int count = 0, driver = 0, runtime = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    cudaGetLastError();  // the runtime's last error must not leak into the next checked call
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    const GpuPresence presence = gpu_presence(status, count, driver);
    std::string problem = std::string("cudaGetDeviceCount failed with ") + cudaGetErrorName(status) + " (" +
                          cudaGetErrorString(status) + "; driver " + cuda_version(driver) + ", runtime " +
                          cuda_version(runtime) + ")";
    return Answer{presence, presence == GpuPresence::Present ? count : 0, std::move(problem)};
  }();
  TRIFECTA_CHECK(answer.presence != GpuPresence::Broken, "cuda", answer.problem,
                 ": CUDA is installed but cannot be used; fix the driver, or build with -DTRIFECTA_CUDA=OFF to run on "
                 "the CPU");
  return answer.count;
}

Allocator& allocator(Device device) {
  TRIFECTA_CHECK(device.is_cuda(), "cuda allocator", "asked for device ", device.str());
  TRIFECTA_CHECK(device.index >= 0 && device.index < device_count(), "cuda allocator", "device ", device.str(),
                 " does not exist (", device_count(), " CUDA devices visible)");
  TRIFECTA_CHECK(device.index == 0, "cuda allocator", "only cuda:0 is supported for tensors; got ", device.str());
  static CachingAllocator cache(
      "cuda",
      [](size_t nbytes) -> void* {
        void* ptr = nullptr;
        if (cudaMalloc(&ptr, nbytes) != cudaSuccess) {
          cudaGetLastError();  // clear the sticky out-of-memory error; the cache retries or reports
          return nullptr;
        }
        return ptr;
      },
      [](void* ptr) { cudaFree(ptr); });
  return cache;
}

Allocator& pinned_host_allocator() {
  static CachingAllocator cache(
      "pinned host",
      [](size_t nbytes) -> void* {
        void* ptr = nullptr;
        if (cudaMallocHost(&ptr, nbytes) != cudaSuccess) {
          cudaGetLastError();
          return nullptr;
        }
        return ptr;
      },
      [](void* ptr) { cudaFreeHost(ptr); });
  return cache;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  const cudaMemcpyKind kind = src_device.is_cpu() ? (dst_device.is_cpu() ? cudaMemcpyHostToHost : cudaMemcpyHostToDevice)
                                                  : (dst_device.is_cpu() ? cudaMemcpyDeviceToHost : cudaMemcpyDeviceToDevice);
  TRIFECTA_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, gpu::stream()), "copy between devices");
  // A host source may be pageable memory the caller frees next; a host destination is read next.
  if (kind != cudaMemcpyDeviceToDevice) TRIFECTA_CUDA_CHECK(cudaStreamSynchronize(gpu::stream()), "copy between devices");
}

void synchronize() { TRIFECTA_CUDA_CHECK(cudaStreamSynchronize(gpu::stream()), "cuda synchronize"); }

void copy_to_device_async(void* dst, Device dst_device, const void* pinned_src, size_t nbytes) {
  TRIFECTA_CHECK(dst_device.is_cuda(), "asynchronous copy to device", "destination is ", dst_device.str());
  if (nbytes == 0) return;
  // From pageable memory cudaMemcpyAsync would stage through a driver buffer and block; from page-locked
  // memory the copy engine reads the host buffer directly (DMA) while this thread goes on.
  TRIFECTA_CUDA_CHECK(cudaMemcpyAsync(dst, pinned_src, nbytes, cudaMemcpyHostToDevice, gpu::stream()),
                      "asynchronous copy to device");
}

StreamEvent::~StreamEvent() {
  if (event_) cudaEventDestroy(static_cast<cudaEvent_t>(event_));
}

StreamEvent::StreamEvent(StreamEvent&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}

StreamEvent& StreamEvent::operator=(StreamEvent&& other) noexcept {
  std::swap(event_, other.event_);
  return *this;
}

void StreamEvent::record() {
  if (!event_) {
    cudaEvent_t created;
    // Blocking sync puts a waiting thread to sleep instead of spinning on a core (the default), which
    // matters for a background thread sharing the CPU with the training loop. No timing: cheaper to record.
    TRIFECTA_CUDA_CHECK(cudaEventCreateWithFlags(&created, cudaEventDisableTiming | cudaEventBlockingSync),
                        "stream event");
    event_ = created;
  }
  TRIFECTA_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), gpu::stream()), "stream event");
}

void StreamEvent::wait() const {
  if (event_) TRIFECTA_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)), "stream event");
}

}  // namespace cuda_backend
}  // namespace trifecta
