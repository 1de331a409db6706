// CPU reductions, one loop per layout of kernels/reduce/reduce_plan.h.
//
//   rows     Each output folds its elements into interleaved partial states ("lanes"), merged at the end
//            in a pairwise tree. Independent lanes keep many additions in flight and let the compiler
//            vectorize them: a float32 sum gets 64 lanes, eight 8-wide vector accumulators, so it runs at
//            memory speed instead of waiting on one chain of dependent adds. Each lane also sees only n/64
//            of the terms, so long float32 sums are far more accurate than one running total.
//   columns  A task owns a block of neighbouring outputs and walks the reduced rows, reading a contiguous
//            stretch of each row into per-output states that stay in L1. Four rows enter the states per
//            pass: four streams in flight for the prefetchers, and a quarter of the state stores (which
//            otherwise stall on false 4 KiB aliasing with the loads). Rows are folded in blocks of b
//            into fresh states that then merge into the running ones: a column's rounding error grows
//            like (b + n / b) eps instead of n eps, least for b = sqrt(n) (blocked summation, Higham,
//            "Accuracy and Stability of Numerical Algorithms", 2nd ed., sec. 4.2).
//   general  As rows, element by element.
// A reduction to fewer outputs than threads splits each output's elements across threads instead, and
// merges the per-thread states in thread order, so the result does not depend on timing.
//
// logsumexp over contiguous elements takes two vectorizable passes (the maximum, then the sum of
// exp(x - max)) instead of the online update, whose per-element branches and rescaling defeat
// vectorization; the online form still merges the per-run and per-thread states. var over contiguous
// elements folds whole runs with moments_of_run (its state is three numbers, which the generic lanes would
// interleave), and accumulates in double whatever the input: on a pass bound by memory that costs nothing,
// and it leaves float32 variances exact to float32 even where the shift sits far from the mean (as
// PyTorch's CPU kernels, which accumulate in double too).
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/reduce/reduce_ops.h"
#include "kernels/reduce/reduce_plan.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Lanes for long folds: 256 bytes of state (64 floats, 32 doubles, 16 argmax pairs), at least 8.
template <class State>
constexpr int kWideLanes = std::max<int>(8, static_cast<int>(std::bit_floor(256 / sizeof(State))));
// Lanes for folds too short to amortize initializing and merging the wide set.
constexpr int kNarrowLanes = 8;
// Column blocks hold 4 KiB of running states plus as much again for the row block: both stay in L1.
constexpr int64_t kColumnStateBytes = 4096;
constexpr int64_t kMinRowBlock = 64;

template <class R>
using state_t = typename R::State;

// Merges lanes[0..L) pairwise (a tree of depth log2 L: short dependency chains, vectorizable levels).
template <class R, int L>
state_t<R> merge_lanes(state_t<R>* lanes) {
  for (int width = L / 2; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j) lanes[j] = R::combine(lanes[j], lanes[j + width]);
  return lanes[0];
}

// Folds elements [begin, end) of the reduced group, starting at base, into L lanes that start from start.
// Element r of a run goes to lane (r - run start) % L; ties between equal values are settled by index in
// combine, so the lane an element lands in never changes which index argmax reports.
template <class R, int L, class T>
state_t<R> fold_lanes(const T* base, const DimGroup& reduced, int64_t begin, int64_t end, state_t<R> start) {
  using A = typename R::A;
  state_t<R> lanes[L];
  for (auto& s : lanes) s = start;
  const int64_t run_length = reduced.sizes[reduced.ndim - 1], stride = reduced.inner_stride();
  int64_t r = begin;
  while (r < end) {
    const int64_t run = std::min(run_length - r % run_length, end - r);
    const T* p = base + reduced.offset_of(r);
    int64_t i = 0;
    if (stride == 1) {
      for (; i + L <= run; i += L)
        for (int j = 0; j < L; ++j) lanes[j] = R::step(lanes[j], convert<A>(p[i + j]), r + i + j);
    }
    for (; i < run; ++i) lanes[i % L] = R::step(lanes[i % L], convert<A>(p[i * stride]), r + i);
    r += run;
  }
  return merge_lanes<R, L>(lanes);
}

template <class R>
constexpr bool kIsLogSumExp = false;
template <class T>
constexpr bool kIsLogSumExp<LogSumExpReducer<T>> = true;
template <class R>
constexpr bool kIsVar = false;
template <class T, class S>
constexpr bool kIsVar<VarReducer<T, S>> = true;

// The reducer the CPU runs for the one visit_reducer picks: var's sums widened to double.
template <class R>
struct cpu_reducer {
  using type = R;
};
template <class T>
struct cpu_reducer<VarReducer<T>> {
  using type = VarReducer<T, double>;
};

// logsumexp of a contiguous run p[0..n) as the reducer's state {max, sum of exp(x - max)}, in two passes.
template <class T>
LseState<acc_t<T>> logsumexp_run(const T* p, int64_t n) {
  using A = acc_t<T>;
  using Max = ExtremumReducer<T, true>;
  constexpr int L = kWideLanes<A>;
  A lanes[L];
  for (A& s : lanes) s = Max::init(A(0));
  int64_t i = 0;
  for (; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) lanes[j] = Max::step(lanes[j], convert<A>(p[i + j]), 0);
  for (; i < n; ++i) lanes[i % L] = Max::step(lanes[i % L], convert<A>(p[i]), 0);
  const A max = merge_lanes<Max, L>(lanes);
  // The cases the online form settles without a sum: NaN wins, an empty or all -inf run is the empty
  // state, and +inf makes the result +inf whatever the rest (finalize returns it).
  if (math::isnan(max) || max == highest_value<A>()) return {max, A(1)};
  if (max == lowest_value<A>()) return LogSumExpReducer<T>::init(A(0));
  for (A& s : lanes) s = A(0);
  for (i = 0; i + L <= n; i += L)
    for (int j = 0; j < L; ++j) lanes[j] += math::exp(convert<A>(p[i + j]) - max);
  for (; i < n; ++i) lanes[i % L] += math::exp(convert<A>(p[i]) - max);
  return {max, merge_lanes<SumReducer<T>, L>(lanes)};
}

// Folds elements [begin, end) of the reduced group of one output, whose partial states start from start.
template <class R, class T>
state_t<R> fold_range(const T* base, const DimGroup& reduced, int64_t begin, int64_t end, state_t<R> start) {
  using A = typename R::A;
  if (reduced.ndim == 0) return begin < end ? R::step(start, convert<A>(base[0]), 0) : start;
  if constexpr (kIsLogSumExp<R> || kIsVar<R>) {
    if (reduced.inner_stride() == 1) {
      state_t<R> total = start;
      const int64_t run_length = reduced.sizes[reduced.ndim - 1];
      for (int64_t r = begin, run; r < end; r += run) {
        run = std::min(run_length - r % run_length, end - r);
        const T* p = base + reduced.offset_of(r);
        if constexpr (kIsVar<R>) total.sums = moments_of_run(p, run, total.shift, total.sums);
        else total = R::combine(total, logsumexp_run(p, run));
      }
      return total;
    }
  }
  constexpr int kWide = kWideLanes<state_t<R>>;
  if (end - begin >= 4 * kWide) return fold_lanes<R, kWide>(base, reduced, begin, end, start);
  return fold_lanes<R, kNarrowLanes>(base, reduced, begin, end, start);
}

// Column layout: out[o, c] folds x[o, r, c] over r, blocks of neighbouring c per task.
template <class R, class T>
void reduce_columns(const ReducePlan& plan, const T* x, typename R::Out* out, double param) {
  using A = typename R::A;
  using State = state_t<R>;
  constexpr int64_t kMaxWidth = std::max<int64_t>(16, kColumnStateBytes / sizeof(State));
  const int64_t n = plan.reduced_count;
  const int64_t columns = plan.kept.sizes[plan.kept.ndim - 1];
  const int64_t outer_count = plan.outputs / columns;
  // As wide as L1 allows, narrower when that leaves threads idle (a vector's worth of columns at least).
  const int64_t per_thread = (plan.outputs + get_num_threads() - 1) / get_num_threads();
  const int64_t width = std::min({kMaxWidth, columns, std::max<int64_t>(16, (per_thread + 15) / 16 * 16)});
  const int64_t column_blocks = (columns + width - 1) / width;
  DimGroup outer = plan.kept;
  outer.ndim -= 1;
  const int64_t row_block = std::max<int64_t>(kMinRowBlock, static_cast<int64_t>(std::sqrt(static_cast<double>(n))));
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n * width));
  parallel_for(0, outer_count * column_blocks, grain, [&](int64_t begin, int64_t end) {
    State start[kMaxWidth], total[kMaxWidth], block[kMaxWidth];
    for (int64_t task = begin; task < end; ++task) {
      const int64_t outer_index = task / column_blocks, c0 = task % column_blocks * width;
      const int64_t w = std::min(width, columns - c0);
      const T* base = x + outer.offset_of(outer_index) + c0;
      for (int64_t j = 0; j < w; ++j) total[j] = start[j] = start_state<R>(base + j, n);
      for (int64_t r0 = 0; r0 < n; r0 += row_block) {
        for (int64_t j = 0; j < w; ++j) block[j] = start[j];
        const int64_t r1 = std::min(n, r0 + row_block);
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
          const T* p0 = base + plan.reduced.offset_of(r);
          const T* p1 = base + plan.reduced.offset_of(r + 1);
          const T* p2 = base + plan.reduced.offset_of(r + 2);
          const T* p3 = base + plan.reduced.offset_of(r + 3);
          for (int64_t j = 0; j < w; ++j) {
            State s = R::step(block[j], convert<A>(p0[j]), r);
            s = R::step(s, convert<A>(p1[j]), r + 1);
            s = R::step(s, convert<A>(p2[j]), r + 2);
            block[j] = R::step(s, convert<A>(p3[j]), r + 3);
          }
        }
        for (; r < r1; ++r) {
          const T* p = base + plan.reduced.offset_of(r);
          for (int64_t j = 0; j < w; ++j) block[j] = R::step(block[j], convert<A>(p[j]), r);
        }
        for (int64_t j = 0; j < w; ++j) total[j] = R::combine(total[j], block[j]);
      }
      for (int64_t j = 0; j < w; ++j) out[outer_index * columns + c0 + j] = convert<typename R::Out>(R::finalize(total[j], n, param));
    }
  });
}

template <class R, class T>
void reduce_typed(const ReducePlan& plan, const T* x, typename R::Out* out, double param) {
  using State = state_t<R>;
  using Out = typename R::Out;
  const int64_t n = plan.reduced_count;
  const auto store = [&](int64_t o, State s) { out[o] = convert<Out>(R::finalize(s, n, param)); };

  if (plan.layout == ReduceLayout::Columns) return reduce_columns<R>(plan, x, out, param);

  const int threads = get_num_threads();
  if (plan.outputs < threads && n >= 2 * kElementwiseGrain) {
    // Few outputs, many elements: split each output's elements across threads, then merge in order.
    for (int64_t o = 0; o < plan.outputs; ++o) {
      const T* base = x + plan.kept.offset_of(o);
      const State start = start_state<R>(base, n);
      std::vector<State> partial(threads, start);
      const int64_t per = (n + threads - 1) / threads;
      parallel_for(0, threads, 1, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
          partial[t] = fold_range<R>(base, plan.reduced, std::min(n, t * per), std::min(n, (t + 1) * per), start);
      });
      State total = partial[0];
      for (int t = 1; t < threads; ++t) total = R::combine(total, partial[t]);
      store(o, total);
    }
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, n));
  parallel_for(0, plan.outputs, grain, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      const T* base = x + plan.kept.offset_of(o);
      store(o, fold_range<R>(base, plan.reduced, 0, n, start_state<R>(base, n)));
    }
  });
}

void reduce_cpu(ReduceOp op, const Tensor& x, const Tensor& out, double param) {
  const ReducePlan plan = make_reduce_plan(x, out.shape());
  if (plan.outputs == 0) return;
  dispatch_dtype<DTypeSet::All>(x.dtype(), "reduce", [&](auto tag) {
    using T = typename decltype(tag)::type;
    visit_reducer<T>(op, [&](auto reducer_tag) {
      using R = typename cpu_reducer<typename decltype(reducer_tag)::type>::type;
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
