// CachingAllocator over a fake backend that hands out host memory up to a capacity and records every call,
// so the cache's policy (rounding, reuse, statistics, out-of-memory retry) is tested without a GPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "tensor/caching_allocator.h"
#include "tensor/error.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::error_message;

struct FakeBackend {
  size_t capacity = size_t{1} << 30;
  size_t in_use = 0;
  std::map<void*, size_t> blocks;
  int allocations = 0, frees = 0, failures = 0;

  void* allocate(size_t nbytes) {
    if (in_use + nbytes > capacity) {
      ++failures;
      return nullptr;
    }
    void* p = std::malloc(nbytes);
    blocks[p] = nbytes;
    in_use += nbytes;
    ++allocations;
    return p;
  }
  void free(void* p) {
    auto it = blocks.find(p);
    ASSERT_NE(it, blocks.end()) << "the cache returned a block the backend never gave out";
    in_use -= it->second;
    blocks.erase(it);
    std::free(p);
    ++frees;
  }
};

CachingAllocator make_cache(FakeBackend& backend) {
  return CachingAllocator(
      "fake", [&backend](size_t n) { return backend.allocate(n); }, [&backend](void* p) { backend.free(p); });
}

TEST(CachingAllocator, RoundsSmallRequestsTo512AndLargeOnesToQuarterPowersOfTwo) {
  constexpr size_t MiB = size_t{1} << 20;
  EXPECT_EQ(CachingAllocator::round_size(0), 512u);
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size(MiB - 1), MiB);
  EXPECT_EQ(CachingAllocator::round_size(MiB), MiB);
  EXPECT_EQ(CachingAllocator::round_size(MiB + 1), MiB + MiB / 4);
  EXPECT_EQ(CachingAllocator::round_size(3 * MiB + 1), 3 * MiB + MiB / 2);  // quarter of 2 MiB
  EXPECT_EQ(CachingAllocator::round_size(100 * MiB), 112 * MiB);            // quarter of 64 MiB is 16 MiB
  for (size_t n = MiB; n < 64 * MiB; n = n * 5 / 4 + 12345) {
    const size_t r = CachingAllocator::round_size(n);
    EXPECT_GE(r, n);
    EXPECT_LT(r - n, r / 4 + 1) << "rounding " << n << " wastes more than a quarter";
  }
}

TEST(CachingAllocator, ReusesAFreedBlockOfTheSameRoundedSize) {
  FakeBackend backend;
  CachingAllocator cache = make_cache(backend);
  void* a = cache.allocate(1000);  // rounds to 1024
  cache.deallocate(a, 1000);
  EXPECT_EQ(backend.frees, 0) << "a freed block stays cached";
  void* b = cache.allocate(900);  // also 1024
  EXPECT_EQ(b, a);
  EXPECT_EQ(backend.allocations, 1);
  const MemoryStats s = cache.stats();
  EXPECT_EQ(s.num_allocations, 2u);
  EXPECT_EQ(s.num_backend_allocations, 1u);
  cache.deallocate(b, 900);
}

TEST(CachingAllocator, ReusesASomewhatLargerBlockButNotAMuchLargerOne) {
  FakeBackend backend;
  CachingAllocator cache = make_cache(backend);
  void* big = cache.allocate(2048);
  cache.deallocate(big, 2048);
  void* fits = cache.allocate(1536);  // 2048 <= 1536 + 1536 / 3: at most a quarter of the block is wasted
  EXPECT_EQ(fits, big);
  cache.deallocate(fits, 1536);
  void* small = cache.allocate(1024);  // 2048 > 1024 + 341: a new block
  EXPECT_NE(small, big);
  EXPECT_EQ(backend.allocations, 2);
  // Best fit: with 2048 and 1024 cached, a 1024 request takes the 1024 block.
  cache.deallocate(small, 1024);
  void* again = cache.allocate(1000);
  EXPECT_EQ(again, small);
  cache.deallocate(again, 1000);
}

TEST(CachingAllocator, TracksAllocatedReservedAndPeakBytes) {
  FakeBackend backend;
  CachingAllocator cache = make_cache(backend);
  void* a = cache.allocate(1000);  // 1024
  void* b = cache.allocate(3000);  // 3072
  MemoryStats s = cache.stats();
  EXPECT_EQ(s.allocated_bytes, 4096u);
  EXPECT_EQ(s.reserved_bytes, 4096u);
  EXPECT_EQ(s.peak_allocated_bytes, 4096u);
  cache.deallocate(b, 3000);
  s = cache.stats();
  EXPECT_EQ(s.allocated_bytes, 1024u);
  EXPECT_EQ(s.reserved_bytes, 4096u) << "a cached block is still reserved";
  EXPECT_EQ(s.peak_allocated_bytes, 4096u);
  cache.reset_peak();
  EXPECT_EQ(cache.stats().peak_allocated_bytes, 1024u);
  void* c = cache.allocate(2500);  // 2560; the cached 3072 block fits (3072 <= 2560 + 853) and counts whole
  EXPECT_EQ(c, b);
  s = cache.stats();
  EXPECT_EQ(s.allocated_bytes, 1024u + 3072u);
  EXPECT_EQ(s.peak_allocated_bytes, 1024u + 3072u);
  cache.deallocate(c, 2500);
  cache.deallocate(a, 1000);
  EXPECT_EQ(cache.stats().allocated_bytes, 0u);
  cache.empty_cache();
  s = cache.stats();
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(backend.frees, 2);
  EXPECT_TRUE(backend.blocks.empty());
}

TEST(CachingAllocator, EmptiesTheCacheAndRetriesWhenTheBackendIsOutOfMemory) {
  FakeBackend backend;
  backend.capacity = 4096;
  CachingAllocator cache = make_cache(backend);
  void* a = cache.allocate(2048);
  void* b = cache.allocate(2048);
  cache.deallocate(a, 2048);
  cache.deallocate(b, 2048);
  EXPECT_EQ(cache.stats().reserved_bytes, 4096u);
  // No cached block fits 4096, and the backend is full of cached blocks: they are released and the
  // request retried.
  void* c = cache.allocate(4096);
  EXPECT_NE(c, nullptr);
  EXPECT_EQ(backend.failures, 1);
  EXPECT_EQ(backend.frees, 2);
  const MemoryStats s = cache.stats();
  EXPECT_EQ(s.reserved_bytes, 4096u);
  EXPECT_EQ(s.allocated_bytes, 4096u);
  cache.deallocate(c, 4096);
}

TEST(CachingAllocator, ReportsOutOfMemoryWhenTheRetryFailsToo) {
  FakeBackend backend;
  backend.capacity = 4096;
  CachingAllocator cache = make_cache(backend);
  void* live = cache.allocate(3000);
  const std::string message = error_message([&] { cache.allocate(2000); });
  EXPECT_NE(message.find("fake allocator"), std::string::npos) << message;
  EXPECT_NE(message.find("out of memory allocating 2000 bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("3072 bytes allocated"), std::string::npos) << message;
  EXPECT_EQ(backend.failures, 2) << "one try, then one retry after emptying the cache";
  // The failed request left the statistics as they were.
  EXPECT_EQ(cache.stats().allocated_bytes, 3072u);
  EXPECT_EQ(cache.stats().reserved_bytes, 3072u);
  cache.deallocate(live, 3000);
}

TEST(CachingAllocator, FreeingAnUnknownPointerIsAnError) {
  FakeBackend backend;
  CachingAllocator cache = make_cache(backend);
  int not_from_the_cache = 0;
  const std::string message = error_message([&] { cache.deallocate(&not_from_the_cache, 4); });
  EXPECT_NE(message.find("freeing a pointer it did not allocate"), std::string::npos) << message;
  // A double free is the same error.
  void* p = cache.allocate(64);
  cache.deallocate(p, 64);
  EXPECT_THROW(cache.deallocate(p, 64), Error);
  cache.deallocate(nullptr, 0);  // freeing null is a no-op
}

TEST(CachingAllocator, DestructionReturnsCachedBlocksToTheBackend) {
  FakeBackend backend;
  {
    CachingAllocator cache = make_cache(backend);
    void* a = cache.allocate(5000);
    void* b = cache.allocate(70000);
    cache.deallocate(a, 5000);
    cache.deallocate(b, 70000);
    EXPECT_EQ(backend.frees, 0);
  }
  EXPECT_EQ(backend.frees, 2);
  EXPECT_TRUE(backend.blocks.empty());
}

TEST(CachingAllocator, ManyMixedSizesNeverHandOutOneBlockTwice) {
  FakeBackend backend;
  CachingAllocator cache = make_cache(backend);
  std::vector<std::pair<void*, size_t>> live;
  std::set<void*> live_set;
  uint64_t state = 12345;
  for (int step = 0; step < 2000; ++step) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const bool allocate = live.empty() || (state >> 60) < 9;
    if (allocate) {
      const size_t n = 1 + (state >> 33) % 3000000;  // both rounding regimes
      void* p = cache.allocate(n);
      ASSERT_TRUE(live_set.insert(p).second) << "block handed out while still live";
      live.push_back({p, n});
    } else {
      const size_t k = (state >> 20) % live.size();
      cache.deallocate(live[k].first, live[k].second);
      live_set.erase(live[k].first);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  size_t expected = 0;
  for (const auto& [p, n] : live) expected += CachingAllocator::round_size(n);
  EXPECT_GE(cache.stats().allocated_bytes, expected);
  for (const auto& [p, n] : live) cache.deallocate(p, n);
  EXPECT_EQ(cache.stats().allocated_bytes, 0u);
  EXPECT_EQ(cache.stats().reserved_bytes, backend.in_use);
}

}  // namespace
}  // namespace trifecta
