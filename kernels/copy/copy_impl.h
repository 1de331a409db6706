// The copy kernel body, shared by both devices: a converting elementwise identity over any strides.
#pragma once

#include "kernels/copy/copy.h"
#include "tensor/dtype.h"

namespace trifecta {

template <class To, class From>
struct ConvertFunctor {
  TRIFECTA_HD To operator()(From x) const { return convert<To>(x); }
};

template <class Loop>
void copy_kernel(const Tensor& dst, const Tensor& src) {
  dispatch_dtype<DTypeSet::All>(dst.dtype(), "copy", [&](auto out_tag) {
    using Out = typename decltype(out_tag)::type;
    dispatch_dtype<DTypeSet::All>(src.dtype(), "copy", [&](auto in_tag) {
      using In = typename decltype(in_tag)::type;
      Loop::template run<Out, In>("copy", dst, ConvertFunctor<compute_t<Out>, compute_t<In>>{}, src);
    });
  });
}

}  // namespace trifecta
