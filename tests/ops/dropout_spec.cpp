// Test spec for dropout. Each run draws from a fresh Generator(seed), so every evaluation of a case (and
// both devices) sees the same mask; the reference rebuilds that mask from Philox directly: a fresh
// generator's first draw has offset 0, and element i keeps its value when uniform(seed, i) < 1 - p.
#include "kernels/fill/philox.h"
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

// params = {p, training, seed}
TRIFECTA_OP_SPEC({
    .op = OpId::dropout,
    .cases = {{"training", {{{6, 7}}}, {0.3, 1, 11}},
              {"transposed", {{{5, 4}, Domain::Normal, Layout::Transposed}}, {0.5, 1, 12}},
              {"strided_odd", {{{3, 5}, Domain::Normal, Layout::Strided}}, {0.2, 1, 13}},
              {"rank3_expanded", {{{2, 3, 4}, Domain::Normal, Layout::Expanded}}, {0.6, 1, 14}},
              {"evaluation_is_identity", {{{4, 3}}}, {0.5, 0, 15}},
              {"p0_is_identity", {{{7}}}, {0.0, 1, 16}},
              {"p1_is_zero", {{{2, 3}}}, {1.0, 1, 17}}},
    .run = [](const TensorList& in, const OpCase& c) {
      Generator generator(static_cast<uint64_t>(c.params[2]));
      return TensorList{dropout(in[0], c.params[0], c.params[1] != 0, &generator)};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const double p = c.params[0];
          const uint64_t seed = static_cast<uint64_t>(c.params[2]);
          Ref out = in[0];
          if (c.params[1] == 0) return std::vector<Ref>{out};
          for (int64_t i = 0; i < out.numel(); ++i) {
            const bool keep = philox_uniform(philox_element(seed, 0, static_cast<uint64_t>(i))) < 1.0 - p;
            out[i] = keep ? out[i] / (1.0 - p) : 0.0;
          }
          return std::vector<Ref>{out};
        },
    .dtypes = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16},
});

}  // namespace
}  // namespace trifecta::testing
