// Test spec for matmul: every promotion rule of PyTorch's matmul (dot, matrix-vector, vector-matrix, batched,
// broadcast batches), odd and size-1 sizes, and operands BLAS reads in place (transposed, broadcast batch)
// next to ones the front end must copy (strided columns, expanded rows). The reference is the textbook
// triple loop over the broadcast batch, in float64.
//
// Tolerances: every back end accumulates 16-bit products in float32 and rounds the result once, so a
// bfloat16/float16 inner product is off by that one rounding (plus float32 summation error, orders of
// magnitude smaller at these K), which the default per-dtype tolerance already covers.
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

// The reference: PyTorch's promotion rules spelled out with loops.
Ref matmul_ref(const Ref& a, const Ref& b) {
  const bool vec_a = a.shape.size() == 1, vec_b = b.shape.size() == 1;
  Shape sa = a.shape, sb = b.shape;
  if (vec_a) sa.insert(0, 1);
  if (vec_b) sb.push_back(1);
  const int ra = sa.size(), rb = sb.size();
  const int64_t m = sa[ra - 2], k = sa[ra - 1], n = sb[rb - 1];
  Shape batch_a, batch_b;
  for (int d = 0; d < ra - 2; ++d) batch_a.push_back(sa[d]);
  for (int d = 0; d < rb - 2; ++d) batch_b.push_back(sb[d]);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul reference");

  Shape out_shape = batch;
  if (!vec_a) out_shape.push_back(m);
  if (!vec_b) out_shape.push_back(n);
  Ref out(out_shape);
  // Flat offset of matrix element (r, c) of an operand with batch dims `own`, at broadcast batch index i.
  const auto element = [&](const Shape& own, const std::vector<int64_t>& i, int64_t rows, int64_t cols, int64_t r,
                           int64_t c) {
    int64_t o = 0;
    for (int d = 0; d < own.size(); ++d) o = o * own[d] + (own[d] == 1 ? 0 : i[d + batch.size() - own.size()]);
    return (o * rows + r) * cols + c;
  };
  int64_t next = 0;
  const auto each_batch = [&](const std::vector<int64_t>& i) {
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        double acc = 0.0;
        for (int64_t p = 0; p < k; ++p) acc += a[element(batch_a, i, m, k, r, p)] * b[element(batch_b, i, k, n, p, c)];
        out[next++] = acc;
      }
    }
  };
  if (batch.size() == 0) each_batch({});
  else for_each_index(batch, each_batch);
  return out;
}

const OpSpecRegistrar matmul_spec = OpSpec{
    .op = OpId::matmul,
    .cases =
        {
            {"dot", {{{7}}, {{7}}}},
            {"dot_strided", {{{6}, Domain::Normal, Layout::Strided}, {{6}}}},
            {"mm_odd", {{{5, 7}}, {{7, 3}}}},
            {"mm_long_inner", {{{2, 40}}, {{40, 3}}}},
            {"vector_matrix", {{{4}}, {{4, 3}}}},
            {"matrix_vector", {{{3, 4}}, {{4}}}},
            {"vector_batched", {{{4}}, {{2, 4, 3}}}},
            {"batched_vector", {{{2, 3, 4}}, {{4}}}},
            {"batched", {{{2, 3, 4}}, {{2, 4, 5}}}},
            {"batched_matrix", {{{2, 3, 4}}, {{4, 5}}}},
            {"batched_row_matrix", {{{3, 1, 4}}, {{4, 2}}}},
            {"matrix_batched", {{{3, 4}}, {{2, 4, 5}}}},
            {"broadcast_4d", {{{2, 1, 3, 4}}, {{5, 4, 2}}}},
            {"broadcast_size1_batch", {{{2, 1, 4}}, {{1, 4, 1}}}},
            {"transposed", {{{5, 4}, Domain::Normal, Layout::Transposed}, {{4, 3}, Domain::Normal, Layout::Transposed}}},
            {"batched_transposed",
             {{{2, 3, 4}, Domain::Normal, Layout::Transposed}, {{2, 4, 5}, Domain::Normal, Layout::Transposed}}},
            {"strided", {{{3, 4}, Domain::Normal, Layout::Strided}, {{4, 2}, Domain::Normal, Layout::Strided}}},
            {"expanded_rows", {{{3, 4}, Domain::Normal, Layout::Expanded}, {{4, 2}}}},
            {"expanded_batch", {{{2, 3, 4}, Domain::Normal, Layout::Expanded}, {{2, 4, 5}}}},
            {"transposed_batch_matrix", {{{2, 3, 4}, Domain::Normal, Layout::Transposed}, {{4, 5}}}},
            // A linear layer over a batch of sequences: x · W^T with W^T a column-major view.
            {"batch_times_transposed_weight", {{{2, 3, 4}}, {{4, 5}, Domain::Normal, Layout::Transposed}}},
            {"transposed_vector_product", {{{3, 4}, Domain::Normal, Layout::Transposed}, {{4}}}},
            {"size1", {{{1, 4}}, {{4, 1}}}},
            {"size1_inner", {{{3, 1}}, {{1, 2}}}},
        },
    .run = [](const TensorList& in, const OpCase&) { return TensorList{matmul(in[0], in[1])}; },
    .reference = [](const std::vector<Ref>& in, const OpCase&) { return std::vector<Ref>{matmul_ref(in[0], in[1])}; },
    .dtypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16},
};

}  // namespace
}  // namespace trifecta::testing
