// Fisher-Yates shuffling (Knuth, TAOCP vol. 2, sec. 3.4.2, Algorithm P) driven by Philox, whose outputs
// are a pure function of a key and a counter: the key is the seed, the counter (i, epoch), so the swap
// partner of position i in any epoch is computable on its own.
#include "data/epoch_order.h"

#include <numeric>
#include <utility>

#include "kernels/fill/philox.h"
#include "tensor/error.h"

namespace trifecta {

std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch) {
  TRIFECTA_CHECK(n >= 0 && epoch >= 0, "shuffled_order", "needs n >= 0 and epoch >= 0, got n = ", n,
                 " and epoch = ", epoch);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  const auto low = [](uint64_t x) { return static_cast<uint32_t>(x); };
  const auto high = [](uint64_t x) { return static_cast<uint32_t>(x >> 32); };
  const uint64_t e = static_cast<uint64_t>(epoch);
  // Walking i down, swap position i with a uniform j in [0, i]: every permutation comes out with
  // probability 1/n!, given uniform j.
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t u = static_cast<uint64_t>(i);
    const Philox4x32 r = philox4x32_10(Philox4x32{{low(u), high(u), low(e), high(e)}}, low(seed), high(seed));
    const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    // j = floor(bits * (i + 1) / 2^64), Lemire's multiply-shift ("Fast Random Integer Generation in an
    // Interval", 2019) without its rejection step: each j's probability is off by at most (i + 1) / 2^64,
    // below 2^-32 for any dataset that fits in memory.
    const auto j = static_cast<int64_t>((static_cast<unsigned __int128>(bits) * static_cast<uint64_t>(i + 1)) >> 64);
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace trifecta
