// Front ends of max_pool2d and avg_pool2d: check operands, size the output, run the kernels of
// kernels/pool/ and record the backward, which is a kernel of its own for each (pool_impl.h).
#include "autograd/ops/pool.h"

#include "autograd/record.h"
#include "kernels/pool/pool.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

PoolGeometry pool_geometry(const char* op, const Tensor& x, Size2d kernel, Size2d stride, Size2d padding,
                           Size2d dilation) {
  TRIFECTA_CHECK(x.defined(), op, "undefined input");
  TRIFECTA_CHECK(x.ndim() == 4, op, "input must be 4-D [N, C, H, W], got ", x.shape().str());
  TRIFECTA_CHECK(is_floating(x.dtype()), op, "needs a floating dtype, got ", dtype_name(x.dtype()));
  TRIFECTA_CHECK(x.size(2) > 0 && x.size(3) > 0, op, "input ", x.shape().str(), " has an empty spatial dim");
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  TRIFECTA_CHECK(kernel.h > 0 && kernel.w > 0, op, "kernel_size must be positive, got (", kernel.h, ", ", kernel.w, ")");
  TRIFECTA_CHECK(stride.h > 0 && stride.w > 0, op, "stride must be positive, got (", stride.h, ", ", stride.w, ")");
  TRIFECTA_CHECK(dilation.h > 0 && dilation.w > 0, op, "dilation must be positive, got (", dilation.h, ", ",
                 dilation.w, ")");
  TRIFECTA_CHECK(padding.h >= 0 && padding.w >= 0 && 2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, op,
                 "padding (", padding.h, ", ", padding.w, ") must be non-negative and at most half the kernel (",
                 kernel.h, ", ", kernel.w, ")");
  PoolGeometry g;
  g.planes = x.size(0) * x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.kernel_h = kernel.h;
  g.kernel_w = kernel.w;
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.pad_h = padding.h;
  g.pad_w = padding.w;
  g.dilation_h = dilation.h;
  g.dilation_w = dilation.w;
  const int64_t span_h = g.in_h + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const int64_t span_w = g.in_w + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  TRIFECTA_CHECK(span_h >= 0 && span_w >= 0, op, "the dilated window (", g.dilation_h * (g.kernel_h - 1) + 1, " x ",
                 g.dilation_w * (g.kernel_w - 1) + 1, ") is larger than the padded input (", g.in_h + 2 * g.pad_h,
                 " x ", g.in_w + 2 * g.pad_w, "): the output would be empty");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;
  return g;
}

Shape output_shape(const Tensor& x, const PoolGeometry& g) { return {x.size(0), x.size(1), g.out_h, g.out_w}; }

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, Size2d kernel_size, Size2d stride, Size2d padding,
                                                  Size2d dilation) {
  const PoolGeometry g = pool_geometry("max_pool2d", x, kernel_size, stride, padding, dilation);
  Tensor y = empty(output_shape(x, g), x.options());
  Tensor indices = empty(output_shape(x, g), {DType::Int64, x.device()});
  if (g.planes > 0) kernel_for<MaxPool2dKernel>(OpId::max_pool2d, x.device())(g, x.detach().contiguous(), y, indices);
  record(OpId::max_pool2d, {x}, {y, indices}, [g, in_shape = x.shape(), saved = SavedTensor(indices)](const Grads& grads) {
    const Tensor gy = grads[0].contiguous();
    Tensor gx = empty(in_shape, gy.options());
    if (g.planes > 0)
      kernel_for<MaxPool2dBackwardKernel>(OpId::max_pool2d_backward, gy.device())(g, gy, saved.unpack("max_pool2d"), gx);
    return Grads{gx};
  });
  return {y, indices};
}

Tensor max_pool2d(const Tensor& x, Size2d kernel_size, Size2d stride, Size2d padding, Size2d dilation) {
  return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation).first;
}

Tensor avg_pool2d(const Tensor& x, Size2d kernel_size, Size2d stride, Size2d padding, bool count_include_pad) {
  const PoolGeometry g = pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1);
  Tensor y = empty(output_shape(x, g), x.options());
  if (g.planes > 0)
    kernel_for<AvgPool2dKernel>(OpId::avg_pool2d, x.device())(g, count_include_pad, x.detach().contiguous(), y);
  record(OpId::avg_pool2d, {x}, {y}, [g, count_include_pad, in_shape = x.shape()](const Grads& grads) {
    const Tensor gy = grads[0].contiguous();
    Tensor gx = empty(in_shape, gy.options());
    if (g.planes > 0)
      kernel_for<AvgPool2dBackwardKernel>(OpId::avg_pool2d_backward, gy.device())(g, count_include_pad, gy, gx);
    return Grads{gx};
  });
  return y;
}

}  // namespace trifecta
