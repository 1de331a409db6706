// The seam between the device-independent tensor code and the CUDA runtime. With the CUDA backend these
// are implemented in tensor/backend_cuda.cpp; without it, tensor/backend_nocuda.cpp throws a clear
// error, so CPU-only builds link and say why a CUDA tensor cannot be made.
#pragma once

#include <cstddef>

#include "tensor/device.h"
#include "tensor/storage.h"

namespace trifecta::cuda_backend {

// What the CUDA runtime's answer to cudaGetDeviceCount means (tensor/backend_cuda.cpp; the arguments are its
// cudaError_t, the count, and cudaDriverGetVersion's answer, 0 when no driver is installed). Only "no device"
// and "no driver at all" mean there is no GPU. Every other failure (a driver older than the runtime, the
// toolkit's stub libcuda in place of the driver, a device that is busy or lost) is a broken installation:
// read as "no GPU" it would make every CUDA test skip and the run look green.
enum class GpuPresence { Present, Absent, Broken };
GpuPresence gpu_presence(int count_status, int count, int driver_version);

// The number of visible devices, 0 without a GPU; a broken installation throws, as in cuda_available().
int device_count();
Allocator& allocator(Device device);
// Page-locked host memory: host-to-device copies from it run asynchronously at full bus speed.
Allocator& pinned_host_allocator();
// Copies nbytes between any two devices (host<->device, device<->device). Returns when the data is
// usable by the destination: host destinations are synchronized, device destinations are stream-ordered.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
void synchronize();
// Queues a host-to-device copy from page-locked memory (empty_pinned) on the stream and returns at once;
// copy_bytes, by contrast, waits, because a pageable source may be freed or overwritten right after it
// returns. The source must stay unchanged until the copy has run: record a StreamEvent after queueing it
// and wait on that event before writing to the source again.
void copy_to_device_async(void* dst, Device dst_device, const void* pinned_src, size_t nbytes);

// A marker in the stream: record() marks the work queued so far, wait() blocks the calling host thread until
// that work has run. Without the CUDA backend no work is ever queued, so both return at once.
class StreamEvent {
 public:
  StreamEvent() = default;
  ~StreamEvent();
  StreamEvent(StreamEvent&& other) noexcept;
  StreamEvent& operator=(StreamEvent&& other) noexcept;
  StreamEvent(const StreamEvent&) = delete;
  StreamEvent& operator=(const StreamEvent&) = delete;

  void record();
  void wait() const;

 private:
  void* event_ = nullptr;  // a cudaEvent_t, created by the first record()
};

}  // namespace trifecta::cuda_backend
