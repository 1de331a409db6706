// Test specs for softmax and log_softmax: rows along the last dim and along inner dims, transposed and
// strided inputs, rows long enough for the CUDA block-per-row path (and rows that straddle the warp-per-row
// limits), rows whose cache sits at the 48 KB shared-memory line, size-1 dims and a 0-dim tensor. params[0]
// is the dim. The reference is the textbook two-pass formula in double.
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

std::vector<OpCase> softmax_cases() {
  return {
      {"last_dim", {{{4, 7}}}, {-1}},
      {"first_dim", {{{5, 3}}}, {0}},
      {"middle_dim", {{{2, 6, 3}}}, {1}},
      {"rank4_dim2", {{{2, 3, 4, 5}}}, {2}},
      {"transposed", {{{4, 6}, Domain::Normal, Layout::Transposed}}, {1}},
      {"transposed_dim0", {{{4, 6}, Domain::Normal, Layout::Transposed}}, {0}},
      {"strided", {{{3, 5}, Domain::Normal, Layout::Strided}}, {1}},
      {"expanded", {{{4, 3}, Domain::Normal, Layout::Expanded}}, {1}},
      {"wide_values", {{{6, 33}, Domain::Wide}}, {-1}},
      {"ties", {{{5, 8}, Domain::SmallInt}}, {1}},
      {"row_200", {{{3, 200}}}, {1}},
      {"row_520", {{{2, 520}}}, {1}},
      {"row_1500", {{{2, 1500}, Domain::Wide}}, {1}},
      {"row_1031_odd", {{{2, 1031}}}, {-1}},
      {"long_column", {{{1100, 3}}}, {0}},
      // The CUDA block-per-row kernel caches a row in shared memory: 12288 float32 elements (and 6144 float64,
      // or a backward's two float32 rows of 6144) fill 48 KB, which with the kernel's static bytes needs the
      // opt-in to more; 12250 is a size just under the line.
      {"row_12288_shared_memory", {{{2, 12288}}}, {-1}},
      {"row_12250_shared_memory", {{{1, 12250}}}, {1}},
      {"row_6144_shared_memory", {{{2, 6144}}}, {-1}},
      {"size1_dim", {{{4, 1}}}, {1}},
      {"size1_rows", {{{1, 9}}}, {0}},
      {"scalar", {{{}}}, {0}},
  };
}

// outer x n x inner around dim, as plain loops.
void for_each_row(const Shape& shape, int64_t dim,
                  const std::function<void(int64_t base, int64_t n, int64_t step)>& f) {
  if (shape.size() == 0) {
    f(0, 1, 1);
    return;
  }
  const int d = static_cast<int>(dim < 0 ? dim + shape.size() : dim);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= shape[i];
  for (int i = d + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t n = shape[d];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) f(o * n * inner + i, n, inner);
}

Ref softmax_ref(const Ref& x, int64_t dim, bool log) {
  Ref y(x.shape);
  for_each_row(x.shape, dim, [&](int64_t base, int64_t n, int64_t step) {
    double m = -INFINITY;
    for (int64_t j = 0; j < n; ++j) m = std::max(m, x[base + j * step]);
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j) sum += std::exp(x[base + j * step] - m);
    for (int64_t j = 0; j < n; ++j) {
      const double shifted = x[base + j * step] - m;
      y[base + j * step] = log ? shifted - std::log(sum) : std::exp(shifted) / sum;
    }
  });
  return y;
}

OpSpec softmax_spec(OpId op, Tensor (*f)(const Tensor&, int64_t), bool log) {
  return {.op = op,
          .cases = softmax_cases(),
          .run = [f](const TensorList& in, const OpCase& c) {
            return TensorList{f(in[0], static_cast<int64_t>(c.params[0]))};
          },
          .reference = [log](const std::vector<Ref>& in, const OpCase& c) {
            return std::vector<Ref>{softmax_ref(in[0], static_cast<int64_t>(c.params[0]), log)};
          },
          .dtypes = kAllFloating};
}

const OpSpecRegistrar softmax_specs[] = {
    softmax_spec(OpId::softmax, &softmax, false),
    softmax_spec(OpId::log_softmax, &log_softmax, true),
};

}  // namespace
}  // namespace trifecta::testing
