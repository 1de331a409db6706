// The order a data loader visits examples in, as a pure function of (seed, epoch): no generator state is
// carried from one epoch to the next, so a run resumed from a checkpoint at epoch e recomputes exactly the
// order the uninterrupted run used, knowing only the seed.
#pragma once

#include <cstdint>
#include <vector>

namespace trifecta {

// A uniformly random permutation of [0, n) for epoch `epoch` of a run seeded with `seed`.
std::vector<int64_t> shuffled_order(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace trifecta
