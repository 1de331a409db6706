// Conv2d and ConvTranspose2d: parameters, PyTorch's default initialization, and input checks before the
// functional ops.
#include "nn/conv.h"

#include "nn/init.h"

namespace trifecta::nn {

namespace {

// Attribute errors surface when the layer is built, not at its first forward.
void check_attributes(const char* layer, int64_t in_channels, int64_t out_channels, Size2d kernel_size,
                      Size2d stride, Size2d padding, Size2d dilation) {
  TRIFECTA_CHECK(in_channels > 0 && out_channels > 0, layer, "channel counts must be positive, got in_channels ",
                 in_channels, " and out_channels ", out_channels);
  const auto positive = [](Size2d s) { return s.h > 0 && s.w > 0; };
  TRIFECTA_CHECK(positive(kernel_size) && positive(stride) && positive(dilation), layer,
                 "kernel size, stride and dilation must be positive, got kernel (", kernel_size.h, ", ", kernel_size.w,
                 "), stride (", stride.h, ", ", stride.w, "), dilation (", dilation.h, ", ", dilation.w, ")");
  TRIFECTA_CHECK(padding.h >= 0 && padding.w >= 0, layer, "padding must be non-negative, got (", padding.h, ", ",
                 padding.w, ")");
}

void check_input(const char* layer, const Tensor& x, int64_t in_channels) {
  TRIFECTA_CHECK(x.defined() && x.ndim() == 4 && x.size(1) == in_channels, layer, "expected an input [N, ",
                 in_channels, ", H, W], got ", x.defined() ? x.str() : "an undefined tensor");
}

}  // namespace

Conv2d::Conv2d(int64_t in, int64_t out, Size2d kernel, Conv2dOptions opts, Generator* generator)
    : WeightedLayer("Conv2d"), in_channels(in), out_channels(out), kernel_size(kernel), options(opts) {
  check_attributes("Conv2d", in, out, kernel, opts.stride, opts.padding, opts.dilation);
  weight = register_parameter("weight", empty({out, in, kernel.h, kernel.w}));
  if (opts.bias) bias = register_parameter("bias", empty({out}));
  init::default_affine_init_(weight, bias, generator);
}

Tensor Conv2d::forward(const Tensor& x) {
  check_input("Conv2d", x, in_channels);
  return conv2d(x, effective_weight(), bias, options.stride, options.padding, options.dilation);
}

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, Size2d kernel, ConvTranspose2dOptions opts,
                                 Generator* generator)
    : WeightedLayer("ConvTranspose2d"), in_channels(in), out_channels(out), kernel_size(kernel), options(opts) {
  check_attributes("ConvTranspose2d", in, out, kernel, opts.stride, opts.padding, opts.dilation);
  const auto valid_output_padding = [](int64_t output_padding, int64_t stride, int64_t dilation) {
    return output_padding >= 0 && (output_padding < stride || output_padding < dilation);
  };
  TRIFECTA_CHECK(valid_output_padding(opts.output_padding.h, opts.stride.h, opts.dilation.h) &&
                     valid_output_padding(opts.output_padding.w, opts.stride.w, opts.dilation.w),
                 "ConvTranspose2d", "each output_padding entry must be non-negative and smaller than the stride ",
                 "or the dilation of its axis, got output_padding (", opts.output_padding.h, ", ",
                 opts.output_padding.w, ") with stride (", opts.stride.h, ", ", opts.stride.w, ") and dilation (",
                 opts.dilation.h, ", ", opts.dilation.w, ")");
  weight = register_parameter("weight", empty({in, out, kernel.h, kernel.w}));
  if (opts.bias) bias = register_parameter("bias", empty({out}));
  init::default_affine_init_(weight, bias, generator);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  check_input("ConvTranspose2d", x, in_channels);
  return conv_transpose2d(x, effective_weight(), bias, options.stride, options.padding, options.output_padding,
                          options.dilation);
}

}  // namespace trifecta::nn
