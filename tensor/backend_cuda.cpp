// The CUDA runtime side of tensors: device discovery, the stream, the caching device allocator, pinned
// host memory and copies between devices.
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <utility>

#include "tensor/backend.h"
#include "tensor/caching_allocator.h"
#include "tensor/cuda_utils.h"

namespace trifecta {

bool cuda_compiled() { return true; }

bool cuda_available() { return cuda_backend::device_count() > 0; }

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

int device_count() {
  static const int count = [] {
    int n = 0;
    // No driver or no device is not an error here: it means "no GPU", and the caller decides.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
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
