// Host allocator (64-byte aligned, huge pages for large blocks, with statistics) and the device -> allocator
// routing.
#include "tensor/storage.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdlib>

#include "tensor/backend.h"
#include "tensor/error.h"

namespace trifecta {

namespace {

// Host memory comes straight from the C library: glibc caches and reuses freed chunks below its mmap
// threshold, so unlike CUDA there is little to gain from a cache of our own. Alignment of 64 bytes lets
// kernels use aligned vector loads.
//
// Above the threshold (which grows with use but stops at 32 MiB) glibc maps every block afresh and the
// kernel faults it in one 4 KiB page at a time on first write: 16384 faults for a 64 MiB tensor, about
// 40 ms on a 2-core VM, ten times the elementwise op that writes it. Such blocks are aligned to 2 MiB and
// advised MADV_HUGEPAGE, so that transparent huge pages (in the "madvise" or "always" modes) back them
// with 2 MiB pages: 32 faults, the kernel's zeroing of the pages being most of what is left.
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeBlock = size_t{32} << 20;

size_t alignment_for(size_t nbytes) { return nbytes >= kHugeBlock ? kHugePage : 64; }
size_t rounded_size(size_t nbytes) {
  const size_t a = alignment_for(nbytes);
  return (nbytes + a - 1) / a * a;
}

class HostAllocator : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    const size_t size = rounded_size(nbytes);
    void* ptr = std::aligned_alloc(alignment_for(nbytes), size == 0 ? 64 : size);
    TRIFECTA_CHECK(ptr, "cpu allocator", "out of memory allocating ", nbytes, " bytes");
    // Only a hint: without transparent huge pages the block simply keeps 4 KiB pages.
    if (nbytes >= kHugeBlock) madvise(ptr, size, MADV_HUGEPAGE);
    const size_t now = allocated_.fetch_add(size) + size;
    size_t peak = peak_.load();
    while (now > peak && !peak_.compare_exchange_weak(peak, now)) {
    }
    ++count_;
    return ptr;
  }
  void deallocate(void* ptr, size_t nbytes) override {
    std::free(ptr);
    allocated_ -= rounded_size(nbytes);
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
