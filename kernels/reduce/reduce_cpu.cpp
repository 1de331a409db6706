// CPU reductions. Each output folds its elements into eight interleaved partial states, merged at the
// end: independent accumulators let the compiler keep eight sums in flight (and vectorize them), and they
// also make float32 sums of long rows more accurate than one running total. A reduction to few outputs
// (a full sum) splits its elements across threads instead of its outputs.
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/reduce/reduce_ops.h"
#include "kernels/reduce/reduce_plan.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

constexpr int kLanes = 8;
constexpr int64_t kColumnBlock = 64;

// Folds elements [begin, end) of the reduced group, starting at base.
template <class R, class T>
typename R::State fold_range(const T* base, const DimGroup& reduced, int64_t begin, int64_t end) {
  using A = typename R::A;
  using State = typename R::State;
  if (reduced.ndim == 0) return begin < end ? R::step(R::init(), convert<A>(base[0]), 0) : R::init();
  State lanes[kLanes];
  for (State& s : lanes) s = R::init();
  const int64_t run_length = reduced.sizes[reduced.ndim - 1], stride = reduced.inner_stride();
  int64_t r = begin;
  while (r < end) {
    const int64_t run = std::min(run_length - r % run_length, end - r);
    const T* p = base + reduced.offset_of(r);
    int64_t i = 0;
    if (stride == 1) {
      for (; i + kLanes <= run; i += kLanes)
        for (int j = 0; j < kLanes; ++j) lanes[j] = R::step(lanes[j], convert<A>(p[i + j]), r + i + j);
    }
    for (; i < run; ++i) lanes[i % kLanes] = R::step(lanes[i % kLanes], convert<A>(p[i * stride]), r + i);
    r += run;
  }
  State total = lanes[0];
  for (int j = 1; j < kLanes; ++j) total = R::combine(total, lanes[j]);
  return total;
}

template <class R, class T>
void reduce_typed(const ReducePlan& plan, const T* x, typename R::Out* out, double param) {
  using A = typename R::A;
  using State = typename R::State;
  using Out = typename R::Out;
  const int64_t n = plan.reduced_count;
  const auto store = [&](int64_t o, State s) { out[o] = convert<Out>(R::finalize(s, n, param)); };

  if (plan.layout == ReduceLayout::Columns) {
    // Blocks of up to 64 neighbouring outputs walk the reduced elements together.
    const int64_t columns = plan.kept.sizes[plan.kept.ndim - 1];
    const int64_t column_blocks = (columns + kColumnBlock - 1) / kColumnBlock;
    DimGroup outer = plan.kept;
    outer.ndim -= 1;
    const int64_t tasks = plan.outputs / columns * column_blocks;
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n * kColumnBlock));
    parallel_for(0, tasks, grain, [&](int64_t begin, int64_t end) {
      State states[kColumnBlock];
      for (int64_t task = begin; task < end; ++task) {
        const int64_t outer_index = task / column_blocks, c0 = task % column_blocks * kColumnBlock;
        const int64_t width = std::min(kColumnBlock, columns - c0);
        const T* base = x + outer.offset_of(outer_index) + c0;
        for (int64_t j = 0; j < width; ++j) states[j] = R::init();
        for (int64_t r = 0; r < n; ++r) {
          const T* p = base + plan.reduced.offset_of(r);
          for (int64_t j = 0; j < width; ++j) states[j] = R::step(states[j], convert<A>(p[j]), r);
        }
        for (int64_t j = 0; j < width; ++j) store(outer_index * columns + c0 + j, states[j]);
      }
    });
    return;
  }

  const int threads = get_num_threads();
  if (plan.outputs < threads && n >= 2 * kElementwiseGrain) {
    // Few outputs, many elements: split each output's elements across threads, then merge in order.
    for (int64_t o = 0; o < plan.outputs; ++o) {
      const T* base = x + plan.kept.offset_of(o);
      std::vector<State> partial(threads, R::init());
      const int64_t per = (n + threads - 1) / threads;
      parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
          partial[t] = fold_range<R>(base, plan.reduced, t * per, std::min(n, (t + 1) * per));
      });
      State total = partial[0];
      for (int t = 1; t < threads; ++t) total = R::combine(total, partial[t]);
      store(o, total);
    }
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n));
  parallel_for(0, plan.outputs, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) store(o, fold_range<R>(x + plan.kept.offset_of(o), plan.reduced, 0, n));
  });
}

void reduce_cpu(ReduceOp op, const Tensor& x, const Tensor& out, double param) {
  const ReducePlan plan = make_reduce_plan(x, out.shape());
  if (plan.outputs == 0) return;
  dispatch_dtype<DTypeSet::Numeric>(x.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_reducer<T>(op, [&](auto reducer_tag) {
      using R = typename decltype(reducer_tag)::type;
      reduce_typed<R>(plan, static_cast<const T*>(x.raw_data()), static_cast<typename R::Out*>(out.raw_data()), param);
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(sum, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(mean, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(amax, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(amin, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(argmax, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(argmin, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(logsumexp, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(var, CPU, &reduce_cpu);
TRIFECTA_REGISTER_KERNEL(count_nonfinite, CPU, &reduce_cpu);

}  // namespace trifecta
