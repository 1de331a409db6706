// The row engine on the CPU (see row_engine.h for what a policy is). Contiguous rows (inner == 1) are split
// across threads whole; each row folds into four interleaved partial states, merged at the end, which keeps
// several exponentials in flight and makes long float32 sums more accurate than one running total. Strided
// rows (softmax over a dim that is not the last) are walked a block of neighbouring rows at a time, so each
// step reads a contiguous run of memory.
//
// A policy may offer its own fold of a whole contiguous row, fold_contiguous(x, n, row constants, state) ->
// bool (softmax and cross-entropy do, in two vectorizable passes); the engine uses it when it returns true
// and falls back to the element-by-element fold otherwise. Likewise map_contiguous(x, y, n, stats) replaces
// the element-by-element map of a single-input policy. Both are host-only: the CUDA engine ignores them.
#pragma once

#include <algorithm>

#include "kernels/common/parallel.h"
#include "kernels/softmax/row_engine.h"

namespace trifecta {

namespace row_engine_cpu {

constexpr int kLanes = 4;
constexpr int64_t kColumnBlock = 64;

template <class P>
void load(const RowTensors<typename P::T, P::kInputs>& t, int64_t offset, typename P::A (&v)[P::kInputs]) {
  for (int k = 0; k < P::kInputs; ++k) v[k] = convert<typename P::A>(t.in[k][offset]);
}

template <class P>
void map_row(const P& p, const RowTensors<typename P::T, P::kInputs>& t, int64_t base, int64_t n,
             const typename P::Stats& stats) {
  if constexpr (requires { p.map_contiguous(t.in[0], t.out, n, stats); }) {
    p.map_contiguous(t.in[0] + base, t.out + base, n, stats);
  } else if constexpr (P::kMaps) {
    typename P::A v[P::kInputs];
    for (int64_t col = 0; col < n; ++col) {
      load<P>(t, base + col, v);
      t.out[base + col] = convert<typename P::T>(p.map(v, col, stats));
    }
  }
}

template <class P>
void contiguous_row(const P& policy, const RowTensors<typename P::T, P::kInputs>& t, int64_t row, int64_t n) {
  using A = typename P::A;
  using State = typename P::State;
  // A local copy: its flags (is_log) then cannot alias the output, so the compiler may hoist them out of
  // the loops and vectorize them.
  const P p = policy;
  const typename P::Row constants = p.load_row(row);
  const int64_t base = row * n;
  A v[P::kInputs];
  typename P::Stats stats;
  State whole_row;
  if constexpr (requires { p.fold_contiguous(t.in[0], n, constants, whole_row); }) {
    if (p.fold_contiguous(t.in[0] + base, n, constants, whole_row)) {
      stats = p.finalize(whole_row, constants);
      map_row(p, t, base, n, stats);
      p.store_row(row, stats);
      return;
    }
  }
  if constexpr (P::kReduces) {
    State lanes[kLanes];
    for (State& s : lanes) s = p.init();
    int64_t col = 0;
    for (; col + kLanes <= n; col += kLanes) {
      for (int j = 0; j < kLanes; ++j) {
        load<P>(t, base + col + j, v);
        lanes[j] = p.fold(lanes[j], v, col + j, constants);
      }
    }
    for (; col < n; ++col) {
      load<P>(t, base + col, v);
      lanes[0] = p.fold(lanes[0], v, col, constants);
    }
    State total = lanes[0];
    for (int j = 1; j < kLanes; ++j) total = P::combine(total, lanes[j]);
    stats = p.finalize(total, constants);
  } else {
    stats = p.finalize(State{}, constants);
  }
  map_row(p, t, base, n, stats);
  p.store_row(row, stats);
}

// Rows o * inner + [i0, i0 + width): each step over col reads width neighbouring elements.
template <class P>
void strided_rows(const P& p, const RowTensors<typename P::T, P::kInputs>& t, const RowLayout& layout, int64_t o,
                  int64_t i0, int64_t width) {
  using A = typename P::A;
  typename P::Row constants[kColumnBlock];
  typename P::State states[kColumnBlock];
  typename P::Stats stats[kColumnBlock];
  const int64_t base = o * layout.n * layout.inner + i0;
  const int64_t first_row = o * layout.inner + i0;
  A v[P::kInputs];
  for (int64_t j = 0; j < width; ++j) constants[j] = p.load_row(first_row + j);
  if constexpr (P::kReduces) {
    for (int64_t j = 0; j < width; ++j) states[j] = p.init();
    for (int64_t col = 0; col < layout.n; ++col) {
      for (int64_t j = 0; j < width; ++j) {
        load<P>(t, base + col * layout.inner + j, v);
        states[j] = p.fold(states[j], v, col, constants[j]);
      }
    }
    for (int64_t j = 0; j < width; ++j) stats[j] = p.finalize(states[j], constants[j]);
  } else {
    for (int64_t j = 0; j < width; ++j) stats[j] = p.finalize(typename P::State{}, constants[j]);
  }
  if constexpr (P::kMaps) {
    for (int64_t col = 0; col < layout.n; ++col) {
      for (int64_t j = 0; j < width; ++j) {
        const int64_t offset = base + col * layout.inner + j;
        load<P>(t, offset, v);
        t.out[offset] = convert<typename P::T>(p.map(v, col, stats[j]));
      }
    }
  }
  for (int64_t j = 0; j < width; ++j) p.store_row(first_row + j, stats[j]);
}

}  // namespace row_engine_cpu

template <class P>
void run_rows_cpu(const P& p, const RowTensors<typename P::T, P::kInputs>& t, const RowLayout& layout) {
  if (layout.rows() == 0 || layout.n == 0) return;
  const int64_t work_per_row = layout.n * P::kInputs;
  if (layout.inner == 1) {
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / work_per_row);
    parallel_for(0, layout.rows(), grain, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) row_engine_cpu::contiguous_row(p, t, row, layout.n);
    });
    return;
  }
  const int64_t blocks = (layout.inner + row_engine_cpu::kColumnBlock - 1) / row_engine_cpu::kColumnBlock;
  const int64_t grain =
      std::max<int64_t>(1, kElementwiseGrain / (work_per_row * std::min(layout.inner, row_engine_cpu::kColumnBlock)));
  parallel_for(0, layout.outer * blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / blocks, i0 = task % blocks * row_engine_cpu::kColumnBlock;
      row_engine_cpu::strided_rows(p, t, layout, o, i0, std::min(row_engine_cpu::kColumnBlock, layout.inner - i0));
    }
  });
}

}  // namespace trifecta
