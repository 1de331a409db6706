// Test specs for indexing and joining: index_select, index_add, gather, scatter_add, embedding, concat, stack,
// split. References walk every output (or source) coordinate with plain loops over Ref. Index inputs draw
// more values than the indexed dim holds, so repeated indices (which must accumulate) always occur.
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

int wrap(double dim, int ndim) { return dim < 0 ? static_cast<int>(dim) + ndim : static_cast<int>(dim); }
int64_t as_index(double v) { return static_cast<int64_t>(v); }

InputSpec index_input(Shape shape, int64_t bound, Layout layout = Layout::Contiguous) {
  return {.shape = shape, .domain = Domain::Index, .layout = layout, .index_bound = bound};
}

// ---- index_select / index_add: params = {dim} ----

TRIFECTA_OP_SPEC({
    .op = OpId::index_select,
    .cases = {{"rows_with_repeats", {{{5, 4}}, index_input({9}, 5)}, {0}},
              {"last_dim_negative", {{{3, 6}, Domain::Normal, Layout::Transposed}, index_input({7}, 6)}, {-1}},
              {"middle_dim_strided", {{{2, 5, 3}, Domain::Normal, Layout::Strided}, index_input({4}, 5, Layout::Strided)}, {1}},
              {"vector", {{{7}}, index_input({3}, 7)}, {0}},
              {"rank4_size1_dim", {{{2, 3, 4, 1}}, index_input({5}, 4)}, {2}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{index_select(in[0], static_cast<int64_t>(c.params[0]), in[1])};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref &x = in[0], &index = in[1];
          const int dim = wrap(c.params[0], x.shape.size());
          Shape shape = x.shape;
          shape[dim] = index.numel();
          Ref out(shape);
          for_each_index(shape, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> j = i;
            j[dim] = as_index(index[i[dim]]);
            out.at(i) = x.at(j);
          });
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

TRIFECTA_OP_SPEC({
    .op = OpId::index_add,
    .cases = {{"rows_with_repeats", {{{5, 4}}, index_input({9}, 5), {{9, 4}}}, {0}},
              {"last_dim_negative",
               {{{3, 6}, Domain::Normal, Layout::Strided}, index_input({8}, 6), {{3, 8}, Domain::Normal, Layout::Transposed}},
               {-1}},
              {"middle_dim", {{{2, 5, 3}}, index_input({4}, 5), {{2, 4, 3}, Domain::Normal, Layout::Strided}}, {1}},
              {"vector", {{{6}}, index_input({10}, 6), {{10}}}, {0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{index_add(in[0], static_cast<int64_t>(c.params[0]), in[1], in[2])};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref &x = in[0], &index = in[1], &source = in[2];
          const int dim = wrap(c.params[0], x.shape.size());
          Ref out = x;
          for_each_index(source.shape, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> j = i;
            j[dim] = as_index(index[i[dim]]);
            out.at(j) += source.at(i);
          });
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

// ---- gather / scatter_add: params = {dim} ----

TRIFECTA_OP_SPEC({
    .op = OpId::gather,
    .cases = {{"dim1_repeats", {{{4, 5}}, index_input({4, 7}, 5)}, {1}},
              {"dim0_smaller_index", {{{4, 5}}, index_input({6, 3}, 4)}, {0}},
              {"negative_dim_transposed",
               {{{3, 4, 5}, Domain::Normal, Layout::Transposed}, index_input({2, 4, 6}, 5, Layout::Transposed)},
               {-1}},
              {"strided", {{{3, 6}, Domain::Normal, Layout::Strided}, index_input({3, 4}, 3, Layout::Strided)}, {0}},
              {"vector", {{{7}}, index_input({10}, 7)}, {0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{gather(in[0], static_cast<int64_t>(c.params[0]), in[1])};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref &x = in[0], &index = in[1];
          const int dim = wrap(c.params[0], x.shape.size());
          Ref out(index.shape);
          for_each_index(index.shape, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> j = i;
            j[dim] = as_index(index.at(i));
            out.at(i) = x.at(j);
          });
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

TRIFECTA_OP_SPEC({
    .op = OpId::scatter_add,
    .cases = {{"dim1_repeats", {{{4, 5}}, index_input({4, 7}, 5), {{4, 7}}}, {1}},
              {"dim0_src_larger", {{{4, 5}}, index_input({6, 3}, 4), {{7, 4}}}, {0}},
              {"negative_dim_transposed",
               {{{3, 4, 5}, Domain::Normal, Layout::Transposed}, index_input({2, 4, 6}, 5),
                {{2, 4, 6}, Domain::Normal, Layout::Strided}},
               {-1}},
              {"vector", {{{5}}, index_input({9}, 5), {{9}}}, {0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{scatter_add(in[0], static_cast<int64_t>(c.params[0]), in[1], in[2])};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref &x = in[0], &index = in[1], &src = in[2];
          const int dim = wrap(c.params[0], x.shape.size());
          Ref out = x;
          for_each_index(index.shape, [&](const std::vector<int64_t>& i) {
            std::vector<int64_t> j = i;
            j[dim] = as_index(index.at(i));
            out.at(j) += src.at(i);
          });
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

// ---- embedding (padding_idx is covered by tests/unit/indexing_test.cpp: its gradient is zero by
// definition, which finite differences cannot confirm) ----

TRIFECTA_OP_SPEC({
    .op = OpId::embedding,
    .cases = {{"matrix_indices", {{{6, 3}}, index_input({2, 5}, 6)}},
              {"vector_indices_transposed_weight", {{{7, 4}, Domain::Normal, Layout::Transposed}, index_input({9}, 7)}},
              {"scalar_index", {{{5, 2}}, index_input({}, 5)}},
              {"strided_indices", {{{4, 3}}, index_input({3, 4}, 4, Layout::Strided)}}},
    .run = [](const TensorList& in, const OpCase&) { return TensorList{embedding(in[0], in[1])}; },
    .reference =
        [](const std::vector<Ref>& in, const OpCase&) {
          const Ref &weight = in[0], &indices = in[1];
          const int64_t width = weight.shape[1];
          Shape shape = indices.shape;
          shape.push_back(width);
          Ref out(shape);
          for (int64_t n = 0; n < indices.numel(); ++n)
            for (int64_t c = 0; c < width; ++c) out[n * width + c] = weight.at({as_index(indices[n]), c});
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

// ---- concat / stack: every input is joined; params = {dim} ----

// Concatenation of the inputs along dim (their other sizes agree).
Ref concat_ref(const std::vector<Ref>& in, int dim) {
  Shape shape = in[0].shape;
  shape[dim] = 0;
  for (const Ref& r : in) shape[dim] += r.shape[dim];
  Ref out(shape);
  int64_t start = 0;
  for (const Ref& r : in) {
    for_each_index(r.shape, [&](const std::vector<int64_t>& i) {
      std::vector<int64_t> j = i;
      j[dim] += start;
      out.at(j) = r.at(i);
    });
    start += r.shape[dim];
  }
  return out;
}

TRIFECTA_OP_SPEC({
    .op = OpId::concat,
    .cases = {{"dim0_three_sizes", {{{2, 3}}, {{4, 3}}, {{1, 3}}}, {0}},
              {"last_dim_negative", {{{3, 2}}, {{3, 5}, Domain::Normal, Layout::Transposed}, {{3, 1}}}, {-1}},
              {"middle_dim_mixed_layouts",
               {{{2, 1, 4}}, {{2, 3, 4}, Domain::Normal, Layout::Strided}, {{2, 2, 4}, Domain::Normal, Layout::Expanded}},
               {1}},
              {"vectors", {{{4}}, {{1}}, {{3}}}, {0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{concat(in, static_cast<int64_t>(c.params[0]))};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          return std::vector<Ref>{concat_ref(in, wrap(c.params[0], in[0].shape.size()))};
        },
    .dtypes = kAllFloating,
});

TRIFECTA_OP_SPEC({
    .op = OpId::stack,
    .cases = {{"dim0", {{{2, 3}}, {{2, 3}}, {{2, 3}}}, {0}},
              {"last_dim_negative", {{{3, 4}}, {{3, 4}, Domain::Normal, Layout::Transposed}, {{3, 4}}}, {-1}},
              {"middle_dim_strided", {{{2, 3}, Domain::Normal, Layout::Strided}, {{2, 3}}, {{2, 3}}}, {1}},
              {"vectors", {{{5}}, {{5}}, {{5}}}, {0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      return TensorList{stack(in, static_cast<int64_t>(c.params[0]))};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const int dim = wrap(c.params[0], in[0].shape.size() + 1);
          std::vector<Ref> pieces;
          for (const Ref& r : in) {
            Ref piece = r;
            piece.shape.insert(dim, 1);
            pieces.push_back(piece);
          }
          return std::vector<Ref>{concat_ref(pieces, dim)};
        },
    .dtypes = kAllFloating,
});

// ---- split: params = {dim, 0, split_size} or {dim, 1, size, size, ...} ----

TRIFECTA_OP_SPEC({
    .op = OpId::split,
    .cases = {{"split_size_uneven", {{{7, 3}}}, {0, 0, 3}},
              {"sizes_uneven_negative_dim", {{{3, 7}, Domain::Normal, Layout::Transposed}}, {-1, 1, 2, 4, 1}},
              {"sizes_middle_dim_strided", {{{2, 5, 2}, Domain::Normal, Layout::Strided}}, {1, 1, 1, 4}},
              {"split_size_exact", {{{6}}}, {0, 0, 2}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const int64_t dim = static_cast<int64_t>(c.params[0]);
      if (c.params[1] == 0) return split(in[0], static_cast<int64_t>(c.params[2]), dim);
      return split(in[0], std::vector<int64_t>(c.params.begin() + 2, c.params.end()), dim);
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref& x = in[0];
          const int dim = wrap(c.params[0], x.shape.size());
          std::vector<int64_t> sizes;
          if (c.params[1] == 0) {
            const int64_t step = static_cast<int64_t>(c.params[2]);
            for (int64_t start = 0; start < x.shape[dim]; start += step) sizes.push_back(std::min(step, x.shape[dim] - start));
          } else {
            for (size_t k = 2; k < c.params.size(); ++k) sizes.push_back(static_cast<int64_t>(c.params[k]));
          }
          std::vector<Ref> pieces;
          int64_t start = 0;
          for (int64_t size : sizes) {
            Shape shape = x.shape;
            shape[dim] = size;
            Ref piece(shape);
            for_each_index(shape, [&](const std::vector<int64_t>& i) {
              std::vector<int64_t> j = i;
              j[dim] += start;
              piece.at(i) = x.at(j);
            });
            pieces.push_back(piece);
            start += size;
          }
          return pieces;
        },
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
