// Host allocator (64-byte aligned, with statistics) and the device -> allocator routing.
#include "tensor/storage.h"

#include <atomic>
#include <cstdlib>

#include "tensor/backend.h"
#include "tensor/error.h"

namespace trifecta {

namespace {

// Host memory comes straight from the C library: glibc already caches and reuses freed chunks, so unlike
// CUDA there is nothing to gain from a cache of our own. Alignment of 64 bytes lets kernels use aligned
// vector loads.
class HostAllocator : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = (nbytes + 63) / 64 * 64;
    void* ptr = std::aligned_alloc(64, size == 0 ? 64 : size);
    TRIFECTA_CHECK(ptr, "cpu allocator", "out of memory allocating ", nbytes, " bytes");
    const size_t now = allocated_.fetch_add(size) + size;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    ++count_;
    return ptr;
  }
  void deallocate(void* ptr, size_t nbytes) override {
    std::free(ptr);
    allocated_ -= (nbytes + 63) / 64 * 64;
  }
  MemoryStats stats() const override {
    MemoryStats s;
    s.allocated_bytes = s.reserved_bytes = allocated_.load();
    s.peak_allocated_bytes = peak_.load();
    s.num_allocations = s.num_backend_allocations = count_.load();
    return s;
  }
  void reset_peak() override { peak_ = allocated_.load(); }

 private:
  std::atomic<size_t> allocated_{0}, peak_{0}, count_{0};
};

}  // namespace

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) {
    static HostAllocator host;
    return host;
  }
  return cuda_backend::allocator(device);
}

MemoryStats memory_stats(Device device) { return allocator_for(device).stats(); }
void reset_peak_memory(Device device) { allocator_for(device).reset_peak(); }
void empty_cache(Device device) { allocator_for(device).empty_cache(); }

StorageImpl::StorageImpl(size_t nbytes, Device device)
    : nbytes_(nbytes), device_(device), allocator_(&allocator_for(device)) {
  data_ = allocator_->allocate(nbytes);
}

StorageImpl::StorageImpl(size_t nbytes, Device device, Allocator& allocator, bool pinned)
    : nbytes_(nbytes), device_(device), allocator_(&allocator), pinned_(pinned) {
  data_ = allocator_->allocate(nbytes);
}

StorageImpl::~StorageImpl() { allocator_->deallocate(data_, nbytes_); }

}  // namespace trifecta
