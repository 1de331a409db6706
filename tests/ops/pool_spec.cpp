// Test specs for max_pool2d (values and argmax indices) and avg_pool2d. The references scan each window
// directly in float64; max-pool ties (small integers) check that the first maximum in window order wins,
// and the gradcheck then runs through the tie-free points (the harness skips the kinks ties create).
#include <limits>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

int64_t param(const OpCase& c, int k) { return static_cast<int64_t>(c.params[k]); }

// ---- max_pool2d: params = {kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w} ----

std::vector<Ref> max_pool2d_reference(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const int64_t kh = param(c, 0), kw = param(c, 1), sh = param(c, 2), sw = param(c, 3), ph = param(c, 4),
                pw = param(c, 5), dh = param(c, 6), dw = param(c, 7);
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = (H + 2 * ph - dh * (kh - 1) - 1) / sh + 1, OW = (W + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
  Ref y(Shape{N, C, OH, OW}), indices(Shape{N, C, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double best = -std::numeric_limits<double>::infinity();
          int64_t best_index = -1;
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t h = i * sh - ph + a * dh, v = j * sw - pw + b * dw;
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              const double value = x.at({n, ch, h, v});
              if (best_index < 0 || value > best) {
                best = value;
                best_index = h * W + v;
              }
            }
          y.at({n, ch, i, j}) = best;
          indices.at({n, ch, i, j}) = static_cast<double>(best_index);
        }
  return {y, indices};
}

TRIFECTA_OP_SPEC({
    .op = OpId::max_pool2d,
    .cases =
        {
            {"overlapping_3x3_stride2", {{{2, 3, 7, 7}}}, {3, 3, 2, 2, 0, 0, 1, 1}},
            {"padding", {{{1, 2, 6, 5}}}, {3, 3, 2, 2, 1, 1, 1, 1}},
            {"dilation_nonsquare", {{{2, 2, 7, 8}}}, {2, 3, 1, 2, 1, 1, 2, 2}},
            {"default_2x2_batch3", {{{3, 2, 4, 6}}}, {2, 2, 2, 2, 0, 0, 1, 1}},
            {"ties_overlapping_padded", {{{2, 2, 6, 6}, Domain::SmallInt}}, {3, 3, 1, 1, 1, 1, 1, 1}},
            {"ties_stride2", {{{1, 3, 5, 7}, Domain::SmallInt}}, {2, 3, 2, 2, 0, 1, 1, 1}},
            {"transposed_input", {{{2, 2, 5, 6}, Domain::Normal, Layout::Transposed}}, {2, 2, 1, 1, 0, 0, 1, 1}},
        },
    .run =
        [](const TensorList& in, const OpCase& c) {
          auto [y, indices] = max_pool2d_with_indices(in[0], {param(c, 0), param(c, 1)}, {param(c, 2), param(c, 3)},
                                                      {param(c, 4), param(c, 5)}, {param(c, 6), param(c, 7)});
          return TensorList{y, indices};
        },
    .reference = max_pool2d_reference,
    .dtypes = kAllFloating,
});

// ---- avg_pool2d: params = {kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, count_include_pad} ----

std::vector<Ref> avg_pool2d_reference(const std::vector<Ref>& in, const OpCase& c) {
  const Ref& x = in[0];
  const int64_t kh = param(c, 0), kw = param(c, 1), sh = param(c, 2), sw = param(c, 3), ph = param(c, 4),
                pw = param(c, 5);
  const bool count_include_pad = c.params[6] != 0;
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t OH = (H + 2 * ph - kh) / sh + 1, OW = (W + 2 * pw - kw) / sw + 1;
  Ref y(Shape{N, C, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double sum = 0.0;
          int64_t real = 0;
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) {
              const int64_t h = i * sh - ph + a, v = j * sw - pw + b;
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              sum += x.at({n, ch, h, v});
              ++real;
            }
          y.at({n, ch, i, j}) = sum / static_cast<double>(count_include_pad ? kh * kw : real);
        }
  return {y};
}

TRIFECTA_OP_SPEC({
    .op = OpId::avg_pool2d,
    .cases =
        {
            {"overlapping_3x3_stride2", {{{2, 3, 7, 7}}}, {3, 3, 2, 2, 0, 0, 1}},
            {"padding_counted", {{{1, 2, 6, 5}}}, {3, 3, 2, 2, 1, 1, 1}},
            {"padding_not_counted", {{{1, 2, 6, 5}}}, {3, 3, 2, 2, 1, 1, 0}},
            {"nonsquare_stride1_not_counted", {{{2, 2, 7, 8}}}, {2, 3, 1, 2, 1, 1, 0}},
            {"overlapping_stride1_padded", {{{3, 1, 4, 4}}}, {3, 3, 1, 1, 1, 1, 1}},
            {"transposed_input", {{{3, 2, 5, 6}, Domain::Normal, Layout::Transposed}}, {2, 2, 2, 2, 0, 0, 1}},
        },
    .run =
        [](const TensorList& in, const OpCase& c) {
          return TensorList{avg_pool2d(in[0], {param(c, 0), param(c, 1)}, {param(c, 2), param(c, 3)},
                                       {param(c, 4), param(c, 5)}, c.params[6] != 0)};
        },
    .reference = avg_pool2d_reference,
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
