// Front ends of layer_norm and batch_norm. Both run their own backward kernel, which needs the statistics
// the forward kernel saved (the mean's offset from its row's or channel's first element, and rstd, in the
// compute type: see kernels/norm/) and returns the gradients of x, weight and bias together; each is
// computed only when its input requires grad.
#include "autograd/ops/norm.h"

#include "autograd/ops/factories.h"
#include "autograd/record.h"
#include "kernels/norm/batch_norm_ops.h"
#include "kernels/norm/layer_norm_ops.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

// float32 for 16-bit inputs, the input's own dtype otherwise: the kernels' compute_t.
DType compute_dtype(DType dtype) { return dtype == DType::Float64 ? DType::Float64 : DType::Float32; }

bool needs_grad(const Tensor& t) { return t.defined() && t.requires_grad(); }

// An optional per-feature parameter: undefined, or of the given shape and x's dtype and device.
void check_param(const char* op, const char* what, const Tensor& p, const Tensor& x, const Shape& shape) {
  if (!p.defined()) return;
  TRIFECTA_CHECK(p.shape() == shape, op, what, " must have shape ", shape.str(), ", got ", p.shape().str());
  TRIFECTA_CHECK(p.dtype() == x.dtype(), op, what, " must have the input's dtype (", dtype_name(x.dtype()), "), got ",
                 dtype_name(p.dtype()));
  TRIFECTA_CHECK(p.device() == x.device(), op, what, " is on ", p.device().str(), " but the input is on ",
                 x.device().str());
}

// A kernel operand: contiguous, no autograd, in the given shape (undefined stays undefined).
Tensor operand(const Tensor& t, const Shape& shape) {
  return t.defined() ? t.detach().contiguous().view(shape) : Tensor();
}

Tensor empty_if(bool wanted, const Shape& shape, TensorOptions options) {
  return wanted ? empty(shape, options) : Tensor();
}

Tensor view_if_defined(const Tensor& t, const Shape& shape) { return t.defined() ? t.view(shape) : Tensor(); }

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* name = "layer_norm";
  TRIFECTA_CHECK(x.defined(), name, "undefined input");
  TRIFECTA_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", x.str());
  const int k = normalized_shape.size();
  TRIFECTA_CHECK(k >= 1, name, "normalized_shape must name at least one dim");
  const int lead = x.ndim() - k;
  bool trailing_match = lead >= 0;
  for (int d = 0; trailing_match && d < k; ++d) trailing_match = x.shape()[lead + d] == normalized_shape[d];
  TRIFECTA_CHECK(trailing_match, name, "normalized_shape ", normalized_shape.str(), " does not match the last dims of ",
                 "the input's shape ", x.shape().str());
  check_param(name, "weight", weight, x, normalized_shape);
  check_param(name, "bias", bias, x, normalized_shape);

  const int64_t n = normalized_shape.numel();
  int64_t rows = 1;
  for (int d = 0; d < lead; ++d) rows *= x.shape()[d];
  const Tensor input = operand(x, {rows, n}), w = operand(weight, {n}), b = operand(bias, {n});
  const TensorOptions stats_options{compute_dtype(x.dtype()), x.device()};
  const Tensor offset = empty({rows}, stats_options), rstd = empty({rows}, stats_options);
  Tensor y = empty(x.shape(), x.options());
  if (n > 0)
    kernel_for<LayerNormKernel>(OpId::layer_norm, x.device())(input, w, b, eps, y.view({rows, n}), offset, rstd);

  record(OpId::layer_norm, {x, weight, bias}, {y},
         [name, rows, n, x_shape = x.shape(), normalized_shape, need_x = needs_grad(x), need_w = needs_grad(weight),
          need_b = needs_grad(bias), saved_x = SavedTensor(input), saved_w = SavedTensor(w),
          saved_offset = SavedTensor(offset), saved_rstd = SavedTensor(rstd)](const Grads& g) {
           const Tensor xv = saved_x.unpack(name);
           const Tensor grad_y = g[0].contiguous().view({rows, n});
           const Tensor grad_x = empty_if(need_x, {rows, n}, xv.options());
           const Tensor grad_w = empty_if(need_w, {n}, xv.options()), grad_b = empty_if(need_b, {n}, xv.options());
           if (n > 0)
             kernel_for<LayerNormBackwardKernel>(OpId::layer_norm_backward, xv.device())(
                 grad_y, xv, saved_offset.unpack(name), saved_rstd.unpack(name), saved_w.unpack(name), grad_x, grad_w,
                 grad_b);
           return Grads{view_if_defined(grad_x, x_shape), view_if_defined(grad_w, normalized_shape),
                        view_if_defined(grad_b, normalized_shape)};
         });
  return y;
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* name = "batch_norm";
  TRIFECTA_CHECK(x.defined(), name, "undefined input");
  TRIFECTA_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", x.str());
  TRIFECTA_CHECK(x.ndim() >= 2, name, "input must be [N, C] or [N, C, *], got ", x.shape().str());
  const int64_t channels = x.size(1);
  const Shape channel_shape{channels};
  check_param(name, "weight", weight, x, channel_shape);
  check_param(name, "bias", bias, x, channel_shape);
  TRIFECTA_CHECK(running_mean.defined() == running_var.defined(), name,
                 "pass both running_mean and running_var, or neither");
  const bool tracking = running_mean.defined();
  if (tracking) {
    for (const Tensor* r : {&running_mean, &running_var}) {
      const char* what = r == &running_mean ? "running_mean" : "running_var";
      TRIFECTA_CHECK(r->shape() == channel_shape, name, what, " must have shape ", channel_shape.str(), ", got ",
                     r->shape().str());
      TRIFECTA_CHECK(r->device() == x.device(), name, what, " is on ", r->device().str(), " but the input is on ",
                     x.device().str());
      TRIFECTA_CHECK(
          r->dtype() == x.dtype() || (r->dtype() == DType::Float32 && compute_dtype(x.dtype()) == DType::Float32), name,
          what, " must have the input's dtype (", dtype_name(x.dtype()), ") or float32 for a 16-bit ", "input, got ",
          dtype_name(r->dtype()));
      TRIFECTA_CHECK(r->is_contiguous(), name, what, " must be contiguous (it is updated in place)");
    }
    TRIFECTA_CHECK(running_mean.dtype() == running_var.dtype(), name,
                   "running_mean and running_var differ in dtype: ", dtype_name(running_mean.dtype()), " and ",
                   dtype_name(running_var.dtype()));
  }
  TRIFECTA_CHECK(training || tracking, name, "evaluation mode needs running_mean and running_var");
  // One value per channel has no spread to normalize by (PyTorch refuses it too); none at all is an empty
  // batch, which normalizes nothing and leaves the running statistics alone.
  const int64_t per_channel = channels == 0 ? 0 : x.numel() / channels;
  TRIFECTA_CHECK(!training || per_channel != 1, name, "training needs more than one value per channel, got input of ",
                 "shape ", x.shape().str());
  if (training && tracking) begin_inplace({{running_mean, "running_mean"}, {running_var, "running_var"}}, name);

  const Tensor input = x.detach().contiguous(), w = operand(weight, channel_shape), b = operand(bias, channel_shape);
  const TensorOptions stats_options{compute_dtype(x.dtype()), x.device()};
  const Tensor save_offset = empty(channel_shape, stats_options), save_rstd = empty(channel_shape, stats_options);
  Tensor y = empty(x.shape(), x.options());
  kernel_for<BatchNormKernel>(OpId::batch_norm, x.device())(input, w, b, running_mean, running_var, training, momentum,
                                                            eps, y, save_offset, save_rstd);

  record(OpId::batch_norm, {x, weight, bias}, {y},
         [name, training, channel_shape, need_x = needs_grad(x), need_w = needs_grad(weight), need_b = needs_grad(bias),
          saved_x = SavedTensor(input), saved_w = SavedTensor(w), saved_offset = SavedTensor(save_offset),
          saved_rstd = SavedTensor(save_rstd)](const Grads& g) {
           const Tensor xv = saved_x.unpack(name);
           const Tensor grad_y = g[0].contiguous();
           const Tensor grad_x = empty_if(need_x, xv.shape(), xv.options());
           const Tensor grad_w = empty_if(need_w, channel_shape, xv.options());
           const Tensor grad_b = empty_if(need_b, channel_shape, xv.options());
           kernel_for<BatchNormBackwardKernel>(OpId::batch_norm_backward, xv.device())(
               grad_y, xv, saved_offset.unpack(name), saved_rstd.unpack(name), saved_w.unpack(name), training, grad_x,
               grad_w, grad_b);
           return Grads{grad_x, grad_w, grad_b};
         });
  return y;
}

}  // namespace trifecta
