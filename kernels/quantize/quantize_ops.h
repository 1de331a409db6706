// nearest_code: the kernel signature and the (distance, index) order both devices pick the nearest entry by.
//
// Vector quantization replaces a feature vector h by the dictionary (codebook) entry e_k nearest to it,
//     k*(h) = argmin_k d_k,   d_k = sum_c (h_c - e_kc)^2,
// the assignment step of k-means and of VQ-VAE (van den Oord et al. 2017, eq. 1); FQ-GAN (Zhao et al., ICML
// 2020, eq. 3) applies it to every spatial feature vector of a discriminator's feature map. The kernels fuse
// the distances with the argmin, so the [M, K] distance matrix is never held whole.
//
// The index is what torch.argmin returns over the row of d_k: the first index of the smallest distance (ties
// go to the lower index), and a NaN distance wins over every number, so a row whose distances hold a NaN
// (a NaN in h, or in that entry) gets the first NaN's index. With infinities the distances are evaluated as
// written: h_c = inf against finite entries gives d_k = inf for every k (a tie, so index 0), inf against an
// inf entry gives inf - inf = NaN.
#pragma once

#include <cstdint>

#include "kernels/common/math.h"
#include "tensor/tensor.h"

namespace trifecta {

// features [M, C] and codebook [K, C] contiguous, of one floating dtype, with M, K and C at least 1; indices
// contiguous int64 [M]. 16-bit inputs are computed in float.
using NearestCodeKernel = void(const Tensor& features, const Tensor& codebook, const Tensor& indices);

// A candidate entry for one feature vector; index < 0 means none yet.
template <class A>
struct CodeCandidate {
  A distance;
  int64_t index;
};

// The candidate torch.argmin would pick of two: NaN first, then the smaller distance, then the lower index.
// Associative and commutative, so any reduction order (a sequential scan, a warp's butterfly) agrees.
template <class A>
TRIFECTA_HD inline CodeCandidate<A> nearer_code(CodeCandidate<A> a, CodeCandidate<A> b) {
  if (a.index < 0) return b;
  if (b.index < 0) return a;
  const bool a_nan = math::isnan(a.distance), b_nan = math::isnan(b.distance);
  if (a_nan || b_nan) {
    if (a_nan && b_nan) return a.index < b.index ? a : b;
    return a_nan ? a : b;
  }
  if (a.distance < b.distance) return a;
  if (b.distance < a.distance) return b;
  return a.index < b.index ? a : b;
}

}  // namespace trifecta
