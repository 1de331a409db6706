// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel Random Numbers: As Easy as 1, 2, 3"
// (SC 2011). Each output is a pure function of (key, counter): element i of a random tensor uses counter
// offset + i under key seed, so any thread on any device computes any element independently, and CPU and
// CUDA produce the same bits. Ten rounds of two 32x32->64 multiplies pass BigCrush.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/half.h"

namespace trifecta {

struct Philox4x32 {
  uint32_t v[4];
};

TRIFECTA_HD inline uint32_t mulhi32(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

// The raw block function: 4 outputs for a 128-bit counter and a 64-bit key.
TRIFECTA_HD inline Philox4x32 philox4x32_10(Philox4x32 ctr, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;    // round multipliers
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // key schedule: golden ratio, sqrt(3) - 1
  for (int round = 0; round < 10; ++round) {
    const uint32_t hi0 = mulhi32(kMul0, ctr.v[0]), lo0 = kMul0 * ctr.v[0];
    const uint32_t hi1 = mulhi32(kMul1, ctr.v[2]), lo1 = kMul1 * ctr.v[2];
    ctr = Philox4x32{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return ctr;
}

// The 4 random words for element `index` of a draw at (seed, offset).
TRIFECTA_HD inline Philox4x32 philox_element(uint64_t seed, uint64_t offset, uint64_t index) {
  const uint64_t counter = offset + index;
  return philox4x32_10(Philox4x32{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u}},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform in [0, 1) with 53 random bits (float results round from it, so both devices agree).
TRIFECTA_HD inline double philox_uniform(const Philox4x32& r) {
  const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 21) ^ (r.v[1] >> 11);  // 53 bits
  return static_cast<double>(bits & ((uint64_t{1} << 53) - 1)) * 1.1102230246251565e-16;  // 2^-53
}

// Standard normal by Box-Muller on the two other words; computed in double on both devices so the rounded
// float results agree.
TRIFECTA_HD inline double philox_normal(const Philox4x32& r) {
  const double u1 = (static_cast<double>(r.v[2]) + 1.0) * 2.3283064365386963e-10;  // (0, 1]: 2^-32
  const double u2 = static_cast<double>(r.v[3]) * 2.3283064365386963e-10;          // [0, 1)
  return ::sqrt(-2.0 * ::log(u1)) * ::cos(6.283185307179586 * u2);
}

}  // namespace trifecta
