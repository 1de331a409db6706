// Caching allocator: free lists by rounded size, best fit, empty-and-retry on out-of-memory.
#include "tensor/caching_allocator.h"

#include <bit>

#include "tensor/error.h"

namespace trifecta {

CachingAllocator::CachingAllocator(std::string device_name, std::function<void*(size_t)> backend_allocate,
                                   std::function<void(void*)> backend_free)
    : device_name_(std::move(device_name)),
      backend_allocate_(std::move(backend_allocate)),
      backend_free_(std::move(backend_free)) {}

CachingAllocator::~CachingAllocator() {
  // Live blocks at exit belong to static tensors; the process is ending, so only the cache is returned.
  std::lock_guard lock(mutex_);
  release_cached_locked();
}

size_t CachingAllocator::round_size(size_t nbytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{1} << 20;
  if (nbytes == 0) return kSmall;
  if (nbytes < kLarge) return (nbytes + kSmall - 1) / kSmall * kSmall;
  const size_t quarter = std::bit_floor(nbytes) / 4;
  return (nbytes + quarter - 1) / quarter * quarter;
}

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t size = round_size(nbytes);
  std::lock_guard lock(mutex_);
  ++stats_.num_allocations;
  void* ptr = nullptr;
  size_t block_size = size;
  // Best fit among cached blocks no more than a third larger than the request.
  if (auto it = free_blocks_.lower_bound(size); it != free_blocks_.end() && it->first <= size + size / 3) {
    block_size = it->first;
    ptr = it->second;
    free_blocks_.erase(it);
  } else {
    ptr = backend_allocate_(size);
    if (!ptr) {  // out of memory: give the cache back and try once more
      release_cached_locked();
      ptr = backend_allocate_(size);
    }
    TRIFECTA_CHECK(ptr, device_name_ + " allocator", "out of memory allocating ", nbytes, " bytes (",
                   stats_.allocated_bytes, " bytes allocated by live tensors, ", stats_.reserved_bytes,
                   " reserved)");
    ++stats_.num_backend_allocations;
    stats_.reserved_bytes += size;
  }
  live_blocks_.emplace(ptr, block_size);
  stats_.allocated_bytes += block_size;
  if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t) {
  if (!ptr) return;
  std::lock_guard lock(mutex_);
  auto it = live_blocks_.find(ptr);
  TRIFECTA_CHECK(it != live_blocks_.end(), device_name_ + " allocator", "freeing a pointer it did not allocate");
  stats_.allocated_bytes -= it->second;
  free_blocks_.emplace(it->second, ptr);
  live_blocks_.erase(it);
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  for (auto& [size, ptr] : free_blocks_) {
    backend_free_(ptr);
    stats_.reserved_bytes -= size;
  }
  free_blocks_.clear();
}

}  // namespace trifecta
