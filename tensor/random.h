// Random state: a seed and a running offset into Philox's counter space. A draw of n numbers reserves
// offsets [offset, offset + n), so consecutive draws never overlap and the whole state is two integers,
// which is what a checkpoint stores to resume bit-identically.
#pragma once

#include <cstdint>
#include <mutex>

namespace trifecta {

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}
  void manual_seed(uint64_t seed);
  // Reserves n counters and returns the (seed, offset) to draw them with.
  GeneratorState reserve(uint64_t n);
  GeneratorState state() const;
  void set_state(GeneratorState state);

 private:
  mutable std::mutex mutex_;
  GeneratorState state_;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace trifecta
