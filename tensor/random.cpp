// The process-wide default generator and its state bookkeeping.
#include "tensor/random.h"

namespace trifecta {

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard lock(mutex_);
  state_ = {seed, 0};
}

GeneratorState Generator::reserve(uint64_t n) {
  std::lock_guard lock(mutex_);
  const GeneratorState drawn = state_;
  state_.offset += n;
  return drawn;
}

GeneratorState Generator::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

void Generator::set_state(GeneratorState state) {
  std::lock_guard lock(mutex_);
  state_ = state;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace trifecta
