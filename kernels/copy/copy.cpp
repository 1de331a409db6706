// copy_into: routes a copy to the device kernel, or through a contiguous staging buffer across devices.
#include "kernels/copy/copy.h"

#include "kernels/registry.h"
#include "tensor/backend.h"

namespace trifecta {

namespace {

// src viewed with dst's shape (broadcasting as NumPy does), without autograd.
Tensor expand_raw(const Tensor& src, const Shape& shape) {
  if (src.shape() == shape) return src;
  const Shape target = broadcast_shapes(src.shape(), shape, "copy");
  TRIFECTA_CHECK(target == shape, "copy", "source of shape ", src.shape().str(),
                 " does not broadcast to destination shape ", shape.str());
  Strides strides;
  const int lead = shape.size() - src.ndim();
  for (int d = 0; d < shape.size(); ++d) {
    const int s = d - lead;
    strides.push_back(s < 0 || src.shape()[s] == 1 ? 0 : src.strides()[s]);
  }
  return as_strided(src, shape, strides, src.offset());
}

void copy_same_device(const Tensor& dst, const Tensor& src) {
  kernel_for<CopyKernel>(OpId::copy, dst.device())(dst, src);
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
  TRIFECTA_CHECK(dst.defined() && src.defined(), "copy", "undefined tensor");
  const Tensor source = expand_raw(src, dst.shape());
  if (dst.numel() == 0) return;
  if (dst.device() == source.device()) {
    copy_same_device(dst, source);
    return;
  }
  // Across devices only dense bytes can move: make the source dense in the destination dtype on its own
  // device, move the bytes, and scatter them into the destination's strides if it is not dense.
  Tensor dense_src = source;
  if (!source.is_contiguous() || source.dtype() != dst.dtype()) {
    dense_src = empty(dst.shape(), {dst.dtype(), source.device()});
    copy_same_device(dense_src, source);
  }
  Tensor dense_dst = dst.is_contiguous() ? dst : empty(dst.shape(), {dst.dtype(), dst.device()});
  cuda_backend::copy_bytes(dense_dst.raw_data(), dst.device(), dense_src.raw_data(), source.device(),
                           dst.numel() * itemsize(dst.dtype()));
  if (!dense_dst.same(dst)) copy_same_device(dst, dense_dst);
}

}  // namespace trifecta
