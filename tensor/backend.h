// The seam between the device-independent tensor code and the CUDA runtime. With the CUDA backend these
// are implemented in tensor/backend_cuda.cpp; without it, tensor/backend_nocuda.cpp throws a clear
// error, so CPU-only builds link and say why a CUDA tensor cannot be made.
#pragma once

#include <cstddef>

#include "tensor/device.h"
#include "tensor/storage.h"

namespace trifecta::cuda_backend {

int device_count();
Allocator& allocator(Device device);
// Page-locked host memory: host-to-device copies from it run asynchronously at full bus speed.
Allocator& pinned_host_allocator();
// Copies nbytes between any two devices (host<->device, device<->device). Returns when the data is
// usable by the destination: host destinations are synchronized, device destinations are stream-ordered.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
void synchronize();

}  // namespace trifecta::cuda_backend
