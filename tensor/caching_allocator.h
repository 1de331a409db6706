// A caching allocator over any raw allocate/free pair. cudaMalloc and cudaFree synchronize the device and
// cost tens of microseconds, far more than a small kernel, so a training step must not call them per op.
// Freed blocks go to a free list keyed by size and are handed out again for requests they fit without
// wasting more than a quarter of the block. All work runs on one CUDA stream, so a block freed by the host
// while kernels using it are still queued is safe to reuse: the next user's kernels queue behind them.
// The logic is device-independent so the CPU test suite can exercise it with a fake backend.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>

#include "tensor/storage.h"

namespace trifecta {

class CachingAllocator : public Allocator {
 public:
  // backend_allocate returns nullptr when out of memory; the cache is then emptied and the call retried.
  CachingAllocator(std::string device_name, std::function<void*(size_t)> backend_allocate,
                   std::function<void(void*)> backend_free);
  ~CachingAllocator() override;

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  MemoryStats stats() const override;
  void reset_peak() override;
  void empty_cache() override;

  // Requests are rounded up so that blocks are reusable across nearby sizes: to 512 bytes below 1 MiB,
  // above that to a quarter of the request's power of two (a block wastes at most 25%).
  static size_t round_size(size_t nbytes);

 private:
  void release_cached_locked();

  std::string device_name_;
  std::function<void*(size_t)> backend_allocate_;
  std::function<void(void*)> backend_free_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_blocks_;      // size -> block
  std::unordered_map<void*, size_t> live_blocks_;  // block -> size
  MemoryStats stats_;
};

}  // namespace trifecta
