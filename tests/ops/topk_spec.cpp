// Test spec for topk. The reference sorts each line with a comparator written from the definition (NaN
// largest, equal values in index order), independent of the kernels' integer keys.
#include <algorithm>
#include <cmath>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

struct Ranked {
  double value;
  int64_t index;
};

// Does a come before b in topk's output?
bool ranks_before(const Ranked& a, const Ranked& b, bool largest) {
  const bool a_nan = std::isnan(a.value), b_nan = std::isnan(b.value);
  if (a_nan != b_nan) return largest ? a_nan : b_nan;  // NaN is the largest value
  if (!a_nan && a.value != b.value) return largest ? a.value > b.value : a.value < b.value;
  return a.index < b.index;
}

// params = {k, dim, largest}
TRIFECTA_OP_SPEC({
    .op = OpId::topk,
    .cases = {{"last_dim_k3", {{{4, 7}}}, {3, -1, 1}},
              {"smallest_k1", {{{5, 6}}}, {1, -1, 0}},
              {"k_equals_n_dim0_transposed", {{{5, 4}, Domain::Normal, Layout::Transposed}}, {5, 0, 1}},
              {"ties", {{{6, 5}, Domain::SmallInt}}, {2, 1, 1}},
              {"ties_smallest", {{{4, 6}, Domain::SmallInt}}, {3, -1, 0}},
              {"middle_dim_strided", {{{2, 5, 3}, Domain::Normal, Layout::Strided}}, {2, 1, 1}},
              {"vector", {{{9}}}, {4, 0, 1}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const TopkResult r = topk(in[0], static_cast<int64_t>(c.params[0]), static_cast<int64_t>(c.params[1]),
                                c.params[2] != 0);
      return TensorList{r.values, r.indices};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const Ref& x = in[0];
          const int64_t k = static_cast<int64_t>(c.params[0]);
          const int dim = c.params[1] < 0 ? static_cast<int>(c.params[1]) + x.shape.size() : static_cast<int>(c.params[1]);
          const bool largest = c.params[2] != 0;
          Shape shape = x.shape, lines = x.shape;
          shape[dim] = k;
          lines[dim] = 1;
          Ref values(shape), indices(shape);
          for_each_index(lines, [&](const std::vector<int64_t>& line) {
            std::vector<Ranked> ranked;
            std::vector<int64_t> i = line;
            for (i[dim] = 0; i[dim] < x.shape[dim]; ++i[dim]) ranked.push_back({x.at(i), i[dim]});
            std::sort(ranked.begin(), ranked.end(),
                      [largest](const Ranked& a, const Ranked& b) { return ranks_before(a, b, largest); });
            for (i[dim] = 0; i[dim] < k; ++i[dim]) {
              values.at(i) = ranked[i[dim]].value;
              indices.at(i) = static_cast<double>(ranked[i[dim]].index);
            }
          });
          return std::vector<Ref>{values, indices};
        },
    .dtypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16},
});

}  // namespace
}  // namespace trifecta::testing
