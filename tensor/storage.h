// Storage: a reference-counted block of device or host memory that tensors view. Tensors sharing one
// Storage are views of each other. The storage also carries a version counter that every in-place write
// bumps, so autograd can detect a tensor saved for backward being overwritten before backward ran.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace trifecta {

// Byte counts an allocator reports. "allocated" is what live tensors hold; "reserved" also counts blocks
// a caching allocator keeps for reuse; "peak" is the high-water mark of allocated since the last reset.
struct MemoryStats {
  size_t allocated_bytes = 0;
  size_t reserved_bytes = 0;
  size_t peak_allocated_bytes = 0;
  size_t num_allocations = 0;       // calls to allocate
  size_t num_backend_allocations = 0;  // calls that reached the backend (malloc / cudaMalloc)
};

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  virtual MemoryStats stats() const = 0;
  virtual void reset_peak() = 0;
  virtual void empty_cache() {}
};

// The allocator that serves a device: aligned host memory for CPU, the caching allocator for CUDA.
Allocator& allocator_for(Device device);
MemoryStats memory_stats(Device device);
void reset_peak_memory(Device device);
void empty_cache(Device device);

class StorageImpl {
 public:
  // Memory from the device's own allocator.
  StorageImpl(size_t nbytes, Device device);
  // Memory from a given allocator; pinned says it is page-locked host memory (see empty_pinned), which
  // the CUDA runtime can copy from asynchronously.
  StorageImpl(size_t nbytes, Device device, Allocator& allocator, bool pinned);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return pinned_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  Allocator* allocator_ = nullptr;
  bool pinned_ = false;
  uint64_t version_ = 0;
};

using Storage = std::shared_ptr<StorageImpl>;

inline Storage make_storage(size_t nbytes, Device device) { return std::make_shared<StorageImpl>(nbytes, device); }

}  // namespace trifecta
