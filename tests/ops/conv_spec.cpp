// Test specs for conv2d and conv_transpose2d. The references are the definitions written as plain loops in
// float64: conv2d as a direct sum over every output, channel and kernel tap (no im2col), and
// conv_transpose2d as the scatter "every input pixel adds its kernel, scaled, onto the output", which
// shares nothing with the gather the kernels do.
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

Tensor optional_bias(const TensorList& in) { return in.size() > 2 ? in[2] : Tensor(); }

// ---- conv2d: params = {stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w}; inputs x, w[, bias] ----

std::vector<Ref> conv2d_reference(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const Ref& w = in[1];
  const auto p = [&](int k) { return static_cast<int64_t>(c.params[k]); };
  const int64_t sh = p(0), sw = p(1), ph = p(2), pw = p(3), dh = p(4), dw = p(5);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[0], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1, OW = (W + 2 * pw - dw * (KW - 1) - 1) / sw + 1;
  Ref y(Shape{N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = in.size() > 2 ? in[2][o] : 0.0;
          for (int64_t ch = 0; ch < C; ++ch)
            for (int64_t a = 0; a < KH; ++a)
              for (int64_t b = 0; b < KW; ++b) {
                const int64_t h = i * sh - ph + a * dh, v = j * sw - pw + b * dw;
                if (h >= 0 && h < H && v >= 0 && v < W) acc += x.at({n, ch, h, v}) * w.at({o, ch, a, b});
              }
          y.at({n, o, i, j}) = acc;
        }
  return {y};
}

TRIFECTA_OP_SPEC({
    .op = OpId::conv2d,
    .cases =
        {
            {"basic_3x3_bias", {{{1, 2, 5, 5}}, {{3, 2, 3, 3}}, {{3}}}, {1, 1, 0, 0, 1, 1}},
            {"stride2_pad1_batch3", {{{3, 2, 7, 6}}, {{4, 2, 3, 3}}, {{4}}}, {2, 2, 1, 1, 1, 1}},
            {"dilation_nonsquare_pad_no_bias", {{{2, 3, 7, 8}}, {{2, 3, 3, 2}}}, {1, 1, 2, 1, 2, 3}},
            {"kernel_1x1_bias", {{{3, 4, 3, 5}}, {{2, 4, 1, 1}}, {{2}}}, {1, 1, 0, 0, 1, 1}},
            {"kernel_1x1_stride2_pad", {{{2, 3, 5, 5}}, {{2, 3, 1, 1}}}, {2, 2, 1, 1, 1, 1}},
            {"nonsquare_kernel_and_stride", {{{1, 2, 6, 9}}, {{3, 2, 2, 4}}, {{3}}}, {2, 3, 0, 1, 1, 1}},
            {"odd_sizes_batch3", {{{3, 1, 9, 7}}, {{2, 1, 5, 3}}}, {2, 1, 2, 1, 1, 2}},
            // The CPU kernel's other paths: output rows of 16 or more copy row by row (narrower ones gather
            // through a table), and a lone image with a 1x1 kernel multiplies x in place.
            {"wide_rows_batch2", {{{2, 2, 3, 18}}, {{2, 2, 3, 3}}, {{2}}}, {1, 1, 1, 1, 1, 1}},
            {"kernel_1x1_single_image", {{{1, 3, 2, 4}}, {{2, 3, 1, 1}}, {{2}}}, {1, 1, 0, 0, 1, 1}},
            // The float32 implicit GEMM (outputs at least 20x wider than the columns it drops, K >= 32): rows and
            // columns off the micro-kernel tiles (8 x 48 or 6 x 16), panels straddling images of a group, two
            // depth blocks (K 117), two column blocks (840 columns), a 1x1 kernel, stride-2 phase planes.
            {"implicit_gemm_group_of_3", {{{3, 4, 3, 41}}, {{9, 4, 3, 3}}, {{9}}}, {1, 1, 1, 1, 1, 1}},
            {"implicit_gemm_deep", {{{1, 13, 2, 40}}, {{10, 13, 3, 3}}}, {1, 1, 1, 1, 1, 1}},
            {"implicit_gemm_wide_map", {{{1, 4, 20, 40}}, {{3, 4, 3, 3}}, {{3}}}, {1, 1, 1, 1, 1, 1}},
            {"implicit_gemm_1x1", {{{1, 32, 2, 5}}, {{3, 32, 1, 1}}, {{3}}}, {1, 1, 0, 0, 1, 1}},
            {"implicit_gemm_stride2", {{{2, 8, 4, 10}}, {{5, 8, 2, 2}}}, {2, 2, 0, 0, 1, 1}},
            {"transposed_input",
             {{{2, 2, 5, 4}, Domain::Normal, Layout::Transposed}, {{3, 2, 3, 3}}, {{3}}},
             {1, 2, 1, 0, 1, 1}},
            {"strided_weight_transposed_input",
             {{{1, 3, 4, 6}, Domain::Normal, Layout::Transposed}, {{2, 3, 2, 3}, Domain::Normal, Layout::Strided}},
             {1, 1, 1, 1, 1, 1}},
        },
    .run =
        [](const TensorList& in, const OpCase& c) {
          const auto p = [&](int k) { return static_cast<int64_t>(c.params[k]); };
          return TensorList{conv2d(in[0], in[1], optional_bias(in), {p(0), p(1)}, {p(2), p(3)}, {p(4), p(5)})};
        },
    .reference = conv2d_reference,
    .dtypes = kAllFloating,
});

// ---- conv_transpose2d: params = {stride_h, stride_w, pad_h, pad_w, output_pad_h, output_pad_w, dilation_h,
// dilation_w}; inputs x [N, C, H, W], w [C, O, kh, kw][, bias [O]] ----

std::vector<Ref> conv_transpose2d_reference(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const Ref& w = in[1];
  const auto p = [&](int k) { return static_cast<int64_t>(c.params[k]); };
  const int64_t sh = p(0), sw = p(1), ph = p(2), pw = p(3), oph = p(4), opw = p(5), dh = p(6), dw = p(7);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t O = w.shape[1], KH = w.shape[2], KW = w.shape[3];
  const int64_t OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + oph + 1;
  const int64_t OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + opw + 1;
  Ref y(Shape{N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) y.at({n, o, i, j}) = in.size() > 2 ? in[2][o] : 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t v = 0; v < W; ++v)
          for (int64_t o = 0; o < O; ++o)
            for (int64_t a = 0; a < KH; ++a)
              for (int64_t b = 0; b < KW; ++b) {
                const int64_t i = h * sh - ph + a * dh, j = v * sw - pw + b * dw;
                if (i >= 0 && i < OH && j >= 0 && j < OW) y.at({n, o, i, j}) += x.at({n, ch, h, v}) * w.at({ch, o, a, b});
              }
  return {y};
}

TRIFECTA_OP_SPEC({
    .op = OpId::conv_transpose2d,
    .cases =
        {
            {"stride1_no_bias", {{{1, 2, 4, 4}}, {{2, 3, 2, 2}}}, {1, 1, 0, 0, 0, 0, 1, 1}},
            {"stride2_output_padding_bias", {{{2, 3, 4, 3}}, {{3, 2, 3, 3}}, {{2}}}, {2, 2, 1, 1, 1, 1, 1, 1}},
            // output_padding 1 with stride 1 (allowed by the dilation): the last output row is read by no window.
            {"output_padding_past_stride_dilation", {{{2, 2, 3, 4}}, {{2, 2, 3, 2}}, {{2}}}, {1, 2, 1, 0, 1, 1, 2, 2}},
            {"stride3_nonsquare_transposed_input",
             {{{1, 2, 3, 5}, Domain::Normal, Layout::Transposed}, {{2, 1, 2, 3}}},
             {3, 2, 0, 1, 2, 0, 1, 1}},
            {"kernel_1x1_batch3", {{{3, 2, 3, 3}}, {{2, 2, 1, 1}}, {{2}}}, {1, 1, 0, 0, 0, 0, 1, 1}},
            {"wide_rows_batch2", {{{2, 2, 2, 17}}, {{2, 1, 3, 3}}, {{1}}}, {1, 1, 1, 1, 0, 0, 1, 1}},
        },
    .run =
        [](const TensorList& in, const OpCase& c) {
          const auto p = [&](int k) { return static_cast<int64_t>(c.params[k]); };
          return TensorList{conv_transpose2d(in[0], in[1], optional_bias(in), {p(0), p(1)}, {p(2), p(3)}, {p(4), p(5)},
                                             {p(6), p(7)})};
        },
    .reference = conv_transpose2d_reference,
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
