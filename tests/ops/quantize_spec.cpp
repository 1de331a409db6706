// Test spec for nearest_code. The reference computes every squared distance term by term in float64 and
// picks as torch.argmin does over the row of distances: the first NaN if there is one, else the first
// smallest (the lower index on ties).
//
// The shapes reach the kernels' edges: one feature row; channels and entries that are no multiple of the
// CUDA kernel's 32-wide tiles (33 channels span two slices, 70 entries three tiles); a codebook of 1030
// entries, for which the CPU scores 63 rows per tile, so 400 rows, split between two threads, take four
// tiles each, the last one partial; transposed and strided
// inputs; an expanded (all-equal) codebook and small-integer values, where distances tie exactly; NaN and
// infinities in the features and in the codebook, which the CPU's expanded form cannot rank and redoes term
// by term.
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

Ref nearest_code_reference(const Ref& features, const Ref& codebook) {
  const int64_t rows = features.shape[0], entries = codebook.shape[0], channels = features.shape[1];
  Ref indices(Shape{rows});
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = -1;
    double best_distance = 0;
    for (int64_t k = 0; k < entries; ++k) {
      double distance = 0;
      for (int64_t c = 0; c < channels; ++c) {
        const double diff = features[r * channels + c] - codebook[k * channels + c];
        distance += diff * diff;
      }
      if (std::isnan(distance)) {
        best = k;
        break;
      }
      if (best < 0 || distance < best_distance) {
        best = k;
        best_distance = distance;
      }
    }
    indices[r] = static_cast<double>(best);
  }
  return indices;
}

TRIFECTA_OP_SPEC({
    .op = OpId::nearest_code,
    .cases = {{"small", {{{5, 3}}, {{4, 3}}}},
              {"one_row", {{{1, 7}}, {{9, 7}}}},
              {"odd_channels_partial_tiles", {{{37, 33}}, {{70, 33}}}},
              {"one_entry", {{{6, 4}}, {{1, 4}}}},
              {"several_cpu_tiles", {{{400, 6}}, {{1030, 6}}}},
              {"transposed_features_strided_codebook",
               {{{6, 9}, Domain::Normal, Layout::Transposed}, {{11, 9}, Domain::Normal, Layout::Strided}}},
              {"expanded_codebook_ties", {{{7, 5}}, {{6, 5}, Domain::Normal, Layout::Expanded}}},
              {"expanded_features", {{{8, 5}, Domain::Normal, Layout::Expanded}, {{13, 5}}}},
              {"small_integer_ties", {{{40, 3}, Domain::SmallInt}, {{20, 3}, Domain::SmallInt}}},
              {"nonfinite_features", {{{20, 4}, Domain::Nonfinite}, {{6, 4}}}},
              {"nonfinite_codebook", {{{20, 4}}, {{12, 4}, Domain::Nonfinite}}}},
    .run = [](const TensorList& in, const OpCase&) { return TensorList{nearest_code(in[0], in[1])}; },
    .reference = [](const std::vector<Ref>& in,
                    const OpCase&) { return std::vector<Ref>{nearest_code_reference(in[0], in[1])}; },
    .dtypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16},
});

}  // namespace
}  // namespace trifecta::testing
