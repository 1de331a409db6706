// Front ends of conv2d and conv_transpose2d: check operands, size the output, run the kernels of
// kernels/conv/ and record the backward. Three kernels serve both ops, because a transposed convolution is
// a convolution run backwards (see conv_transpose2d below).
#include "autograd/ops/conv.h"

#include "autograd/ops/elementwise.h"
#include "autograd/ops/factories.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/conv/conv.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

bool is_16bit(DType dtype) { return dtype == DType::BFloat16 || dtype == DType::Float16; }

// The kernels read dense NCHW memory; a view without autograd history is copied only when it is strided.
Tensor dense(const Tensor& t) { return t.defined() ? t.detach().contiguous() : t; }

void check_attributes(const char* op, Size2d stride, Size2d padding, Size2d dilation) {
  TRIFECTA_CHECK(stride.h > 0 && stride.w > 0, op, "stride must be positive, got (", stride.h, ", ", stride.w, ")");
  TRIFECTA_CHECK(padding.h >= 0 && padding.w >= 0, op, "padding must be non-negative, got (", padding.h, ", ",
                 padding.w, ")");
  TRIFECTA_CHECK(dilation.h > 0 && dilation.w > 0, op, "dilation must be positive, got (", dilation.h, ", ",
                 dilation.w, ")");
}

// x [N, C, H, W] and weight 4-D with weight.size(channel_dim) == C; bias 1-D of weight.size(bias_dim).
void check_operands(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int channel_dim,
                    int bias_dim) {
  TRIFECTA_CHECK(x.defined() && weight.defined(), op, "undefined input or weight");
  TRIFECTA_CHECK(x.ndim() == 4, op, "input must be 4-D [N, C, H, W], got ", x.shape().str());
  TRIFECTA_CHECK(weight.ndim() == 4, op, "weight must be 4-D, got ", weight.shape().str());
  TRIFECTA_CHECK(is_floating(x.dtype()), op, "needs a floating dtype, got ", dtype_name(x.dtype()));
  TRIFECTA_CHECK(weight.dtype() == x.dtype() && weight.device() == x.device(), op, "input ", x.str(), " and weight ",
                 weight.str(), " differ in dtype or device");
  for (int d = 1; d < 4; ++d)
    TRIFECTA_CHECK(x.size(d) > 0, op, "input ", x.shape().str(), " has an empty channel or spatial dim");
  for (int d = 0; d < 4; ++d)
    TRIFECTA_CHECK(weight.size(d) > 0, op, "weight ", weight.shape().str(), " has an empty dim");
  TRIFECTA_CHECK(weight.size(channel_dim) == x.size(1), op, "input has ", x.size(1), " channels but weight ",
                 weight.shape().str(), " expects ", weight.size(channel_dim));
  if (bias.defined()) {
    const int64_t bias_size = weight.size(bias_dim);
    TRIFECTA_CHECK(bias.dtype() == x.dtype() && bias.device() == x.device(), op, "bias ", bias.str(),
                   " differs from the input ", x.str(), " in dtype or device");
    TRIFECTA_CHECK(bias.ndim() == 1 && bias.size(0) == bias_size, op, "bias must have shape [", bias_size, "], got ",
                   bias.shape().str());
  }
}

// The three kernels on dense operands, allocating their outputs. An empty batch needs no kernel: its
// output is empty and its weight gradient zero.
Tensor run_conv2d(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  Tensor y = empty({g.batch, g.out_channels, g.out_h, g.out_w}, x.options());
  if (g.batch > 0) kernel_for<Conv2dKernel>(OpId::conv2d, x.device())(g, dense(x), dense(weight), dense(bias), y);
  return y;
}

Tensor run_conv2d_backward_input(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight) {
  Tensor grad_x = empty({g.batch, g.in_channels, g.in_h, g.in_w}, grad_y.options());
  if (g.batch > 0)
    kernel_for<Conv2dBackwardInputKernel>(OpId::conv2d_backward_input, grad_y.device())(g, dense(grad_y), dense(weight),
                                                                                        grad_x);
  return grad_x;
}

Tensor run_conv2d_backward_weight(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y) {
  const Shape shape{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w};
  if (g.batch == 0) return zeros(shape, x.options());
  Tensor grad_w = empty(shape, x.options());
  kernel_for<Conv2dBackwardWeightKernel>(OpId::conv2d_backward_weight, x.device())(g, dense(x), dense(grad_y), grad_w);
  return grad_w;
}

// The bias gradient: grad y summed over everything but its channel.
Tensor bias_grad(const Tensor& grad_y) { return sum(grad_y, {0, 2, 3}); }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding, Size2d dilation) {
  constexpr const char* op = "conv2d";
  check_operands(op, x, weight, bias, 1, 0);
  check_attributes(op, stride, padding, dilation);
  if (is_16bit(x.dtype())) {
    const Tensor bias32 = bias.defined() ? bias.to(DType::Float32) : Tensor();
    return conv2d(x.to(DType::Float32), weight.to(DType::Float32), bias32, stride, padding, dilation).to(x.dtype());
  }
  ConvGeometry g;
  g.batch = x.size(0);
  g.in_channels = x.size(1);
  g.in_h = x.size(2);
  g.in_w = x.size(3);
  g.out_channels = weight.size(0);
  g.kernel_h = weight.size(2);
  g.kernel_w = weight.size(3);
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.pad_h = padding.h;
  g.pad_w = padding.w;
  g.dilation_h = dilation.h;
  g.dilation_w = dilation.w;
  // The last window starts at (out - 1) * stride and must end inside the padded input.
  const int64_t span_h = g.in_h + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1;
  const int64_t span_w = g.in_w + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1;
  TRIFECTA_CHECK(span_h >= 0 && span_w >= 0, op, "the dilated kernel (", g.dilation_h * (g.kernel_h - 1) + 1, " x ",
                 g.dilation_w * (g.kernel_w - 1) + 1, ") is larger than the padded input (", g.in_h + 2 * g.pad_h, " x ",
                 g.in_w + 2 * g.pad_w, "): the output would be empty");
  g.out_h = span_h / g.stride_h + 1;
  g.out_w = span_w / g.stride_w + 1;

  const Tensor xd = dense(x), wd = dense(weight);
  Tensor y = run_conv2d(g, xd, wd, bias);
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  record(OpId::conv2d, {x, weight, bias}, {y},
         [g, need_x, need_w, need_b, sx = SavedTensor(need_w ? xd : Tensor()), sw = SavedTensor(need_x ? wd : Tensor())](
             const Grads& grads) {
           const Tensor& gy = grads[0];
           return Grads{need_x ? run_conv2d_backward_input(g, gy, sw.unpack("conv2d")) : Tensor(),
                        need_w ? run_conv2d_backward_weight(g, sx.unpack("conv2d"), gy) : Tensor(),
                        need_b ? bias_grad(gy) : Tensor()};
         });
  return y;
}

// The duality. Let A_w be the linear map u -> conv2d(u, w) from images [N, O, OH, OW] to [N, C, H, W]
// (weight [C, O, kh, kw] read in conv2d's [out, in, kh, kw] order). conv_transpose2d is its adjoint:
//
//   conv_transpose2d(x, w) = A_w^T x,
//
// which is exactly what conv2d's input-gradient kernel computes (the gradient of <g, A_w u> in u is
// A_w^T g), with the roles of the convolution's input and output swapped: the "input" of the geometry is
// the transposed convolution's output, and its "output" is x. Differentiating <g, A_w^T x> = <A_w g, x>:
//
//   grad x = A_w g = conv2d(g, w)                                   (the forward kernel)
//   grad w = d/dw <conv2d(g, w), x> = conv2d's weight gradient with input g and output gradient x.
//
// output_padding only lengthens the output: the rows it adds are read by no window when it reaches the
// stride (possible with dilation), which the kernels handle because the geometry fixes both sizes.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2d stride, Size2d padding,
                        Size2d output_padding, Size2d dilation) {
  constexpr const char* op = "conv_transpose2d";
  check_operands(op, x, weight, bias, 0, 1);
  check_attributes(op, stride, padding, dilation);
  TRIFECTA_CHECK(output_padding.h >= 0 && output_padding.w >= 0 &&
                     (output_padding.h < stride.h || output_padding.h < dilation.h) &&
                     (output_padding.w < stride.w || output_padding.w < dilation.w),
                 op, "output_padding (", output_padding.h, ", ", output_padding.w,
                 ") must be non-negative and smaller than the stride or the dilation of its axis");
  if (is_16bit(x.dtype())) {
    const Tensor bias32 = bias.defined() ? bias.to(DType::Float32) : Tensor();
    return conv_transpose2d(x.to(DType::Float32), weight.to(DType::Float32), bias32, stride, padding, output_padding,
                            dilation)
        .to(x.dtype());
  }
  ConvGeometry g;  // the convolution A_w: input = this op's output, output = x
  g.batch = x.size(0);
  g.out_channels = x.size(1);
  g.out_h = x.size(2);
  g.out_w = x.size(3);
  g.in_channels = weight.size(1);
  g.kernel_h = weight.size(2);
  g.kernel_w = weight.size(3);
  g.stride_h = stride.h;
  g.stride_w = stride.w;
  g.pad_h = padding.h;
  g.pad_w = padding.w;
  g.dilation_h = dilation.h;
  g.dilation_w = dilation.w;
  g.in_h = (g.out_h - 1) * g.stride_h - 2 * g.pad_h + g.dilation_h * (g.kernel_h - 1) + output_padding.h + 1;
  g.in_w = (g.out_w - 1) * g.stride_w - 2 * g.pad_w + g.dilation_w * (g.kernel_w - 1) + output_padding.w + 1;
  TRIFECTA_CHECK(g.in_h > 0 && g.in_w > 0, op, "input ", x.shape().str(), " with kernel ", g.kernel_h, " x ",
                 g.kernel_w, " and padding (", g.pad_h, ", ", g.pad_w, ") gives an empty output (", g.in_h, " x ",
                 g.in_w, ")");

  const Tensor xd = dense(x), wd = dense(weight);
  Tensor y = run_conv2d_backward_input(g, xd, wd);
  if (bias.defined()) add_(y, bias.detach().reshape({1, g.in_channels, 1, 1}));
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  record(OpId::conv_transpose2d, {x, weight, bias}, {y},
         [g, need_x, need_w, need_b, sx = SavedTensor(need_w ? xd : Tensor()), sw = SavedTensor(need_x ? wd : Tensor())](
             const Grads& grads) {
           const Tensor& gy = grads[0];
           return Grads{need_x ? run_conv2d(g, gy, sw.unpack("conv_transpose2d"), Tensor()) : Tensor(),
                        need_w ? run_conv2d_backward_weight(g, gy, sx.unpack("conv_transpose2d")) : Tensor(),
                        need_b ? bias_grad(gy) : Tensor()};
         });
  return y;
}

}  // namespace trifecta
