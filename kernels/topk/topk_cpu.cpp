// CPU topk: each row ranks its (key, index) pairs with std::partial_sort, which costs n log k. The values
// are read back from x at the chosen indices, so they are the input's exact bits (NaN payloads included).
#include <algorithm>
#include <utility>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"
#include "kernels/topk/topk_ops.h"
#include "kernels/topk/topk_plan.h"

namespace trifecta {
namespace {

template <class T>
void topk_typed(const TopkPlan& plan, const T* x, bool largest, T* values, int64_t* indices) {
  using Key = topk_key_t<T>;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / plan.length);
  parallel_for(0, plan.row_count, grain, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<Key, int64_t>> ranked(plan.length);
    for (int64_t r = begin; r < end; ++r) {
      const T* row = x + plan.rows.offset_of(r);
      for (int64_t j = 0; j < plan.length; ++j) ranked[j] = {topk_key(row[j * plan.step], largest), j};
      std::partial_sort(ranked.begin(), ranked.begin() + plan.k, ranked.end());  // pairs order by key, then index
      for (int64_t j = 0; j < plan.k; ++j) {
        const int64_t out = plan.out_offset(r, j);
        values[out] = row[ranked[j].second * plan.step];
        indices[out] = ranked[j].second;
      }
    }
  });
}

void topk_cpu(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  if (values.numel() == 0) return;
  const TopkPlan plan = make_topk_plan(x, dim, k);
  dispatch_dtype<DTypeSet::Numeric>(x.dtype(), "topk", [&](auto tag) {
    using T = typename decltype(tag)::type;
    topk_typed<T>(plan, static_cast<const T*>(x.raw_data()), largest, static_cast<T*>(values.raw_data()),
                  static_cast<int64_t*>(indices.raw_data()));
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(topk, CPU, &topk_cpu);

}  // namespace trifecta
