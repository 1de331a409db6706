// Dropout (Srivastava et al., "Dropout: a simple way to prevent neural networks from overfitting", JMLR 2014)
// in its inverted form: y = x * m / (1 - p) with m_i ~ Bernoulli(1 - p), so that E[y] = x and evaluation
// needs no rescaling.
//
// The mask is never stored. Element i keeps its value when philox_uniform(seed, offset + i) < 1 - p, which
// is a pure function of (seed, offset, i), so the backward pass regenerates exactly the forward's mask from
// the two integers its node saved instead of holding a mask tensor alive between forward and backward (a
// byte per element, for every dropout layer, for the whole step). Because y is linear in x, the gradient
// dx = dy * m / (1 - p) is the same function applied to dy: dropout_backward is the forward kernel run on
// the gradient. The draw is the same on CPU and CUDA (kernels/fill/philox.h), so are the masks.
#pragma once

#include <cstdint>

#include "kernels/fill/philox.h"
#include "tensor/tensor.h"

namespace trifecta {

// out = in * mask / (1 - p) with the mask of (seed, offset); in and out contiguous, of one shape and dtype.
using DropoutKernel = void(const Tensor& in, const Tensor& out, uint64_t seed, uint64_t offset, double p);

TRIFECTA_HD inline bool dropout_keeps(uint64_t seed, uint64_t offset, int64_t i, double p) {
  return philox_uniform(philox_element(seed, offset, static_cast<uint64_t>(i))) < 1.0 - p;
}

template <class T>
struct DropoutFunctor {
  const T* in;
  uint64_t seed, offset;
  double p;
  compute_t<T> scale;  // 1 / (1 - p); unused when p = 1, where nothing is kept
  TRIFECTA_HD compute_t<T> operator()(int64_t i) const {
    return dropout_keeps(seed, offset, i, p) ? convert<compute_t<T>>(in[i]) * scale : compute_t<T>(0);
  }
};

// The kernel body, shared by both devices as a template over the elementwise loop (kernels/common/).
template <class Loop>
void dropout_kernel(const Tensor& in, const Tensor& out, uint64_t seed, uint64_t offset, double p) {
  dispatch_dtype<DTypeSet::Floating>(in.dtype(), "dropout", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const compute_t<T> scale = p < 1.0 ? static_cast<compute_t<T>>(1.0 / (1.0 - p)) : compute_t<T>(0);
    Loop::template generate<T>("dropout", out,
                               DropoutFunctor<T>{static_cast<const T*>(in.raw_data()), seed, offset, p, scale});
  });
}

}  // namespace trifecta
