// topk: the signature and the sort key both devices rank elements by.
//
// Every element becomes an unsigned integer key whose order is the wanted order: the float bit trick
// (flip all bits of a negative number, only the sign bit of a positive one) makes unsigned comparison agree
// with numeric comparison; every NaN maps to the largest key (NaN counts as the largest value, as in
// PyTorch), -0 maps to +0's key (they compare equal), and for largest=true the key is complemented so that
// ascending key order is descending value order. Ranking by (key, index) is then a strict total order whose
// ties in value go to the smaller index, so the k first elements are one well-defined set in one order, and
// any correct sort (std::partial_sort on the CPU, a bitonic network or a radix sort on CUDA) returns
// exactly the same values and indices.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common/math.h"
#include "tensor/tensor.h"

namespace trifecta {

// values and indices (int64) are contiguous with x's shape but k along dim: each line of x along dim
// contributes its k best elements, best first.
using TopkKernel = void(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices);

// 32-bit keys for 32-bit and narrower types, 64-bit keys for float64 and int64.
template <class T>
using topk_key_t = std::conditional_t<sizeof(compute_t<T>) == 8, uint64_t, uint32_t>;

template <class T>
TRIFECTA_HD inline topk_key_t<T> topk_key(T raw, bool largest) {
  using C = compute_t<T>;
  using Key = topk_key_t<T>;
  constexpr Key kSign = Key{1} << (8 * sizeof(Key) - 1);
  const C v = convert<C>(raw);
  Key key;
  if constexpr (std::is_floating_point_v<C>) {
    if (math::isnan(v)) {
      key = ~Key{0};
    } else {
      const C canonical = v == C(0) ? C(0) : v;  // -0 -> +0
      Key bits;
      memcpy(&bits, &canonical, sizeof bits);
      key = (bits & kSign) ? ~bits : (bits | kSign);
    }
  } else {
    key = static_cast<Key>(v) ^ kSign;  // two's complement: flipping the sign bit orders signed as unsigned
  }
  return largest ? ~key : key;
}

}  // namespace trifecta
