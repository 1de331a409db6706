// The row engine: one loop shape for every op that folds a row into a few statistics and then maps each of
// the row's elements with them. It serves softmax and log_softmax and their backward kernels, layer norm and
// the input gradient of its backward, and the fused cross-entropy kernels:
//
//   op                     fold over the row              map each element
//   softmax                running max m, sum of e^(x-m)  e^(x-m) / sum
//   log_softmax            (same)                         x - m - log(sum)
//   softmax_backward       sum of g*y                     y * (g - sum)
//   log_softmax_backward   sum of g                       g - e^y * sum
//   layer_norm             sums of x - x0 and (x - x0)^2  (x - mean) * rstd * w + b
//   layer_norm_backward    sums of g*w and g*w*xhat       rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat))
//   cross_entropy          log-sum-exp, sum of x, x[t]    (none: writes one loss per row)
//   cross_entropy_backward (none: uses the saved lse)     grad * (softmax - smoothed one-hot)
//
// Each op is a policy; the engine owns the loops. Both devices run the same policy functions (they are
// __host__ __device__), so CPU and CUDA compute the same function and differ only in how a row is split
// over threads: row_engine_cpu.h and row_engine_cuda.cuh.
//
// A tensor is seen as [outer, n, inner]: a row is the n elements along one dim, at stride inner. A row is
// numbered row = o * inner + i, and its element col lies at o * n * inner + col * inner + i. Softmax over a
// dim that is not the last has inner > 1; everything else has inner == 1 (contiguous rows).
//
// A policy P provides:
//   using T, A                       the row tensors' element type, and the type to compute in
//   static constexpr int kInputs     how many row tensors are read per element (x; or y and g)
//   static constexpr bool kReduces   whether rows are folded (false: the map needs only per-row constants)
//   static constexpr bool kMaps      whether an output row is written (false: only store_row's results)
//   using Row, State, Stats          per-row constants, the fold's state, and what the map needs
//   Row load_row(int64_t row)        per-row constants (the saved mean and rstd, the target class)
//   State init()                     the empty fold
//   State fold(State, const A (&v)[kInputs], int64_t col, const Row&)
//   static State combine(State, State)   associative, so partial folds can be merged in any tree
//   Stats finalize(const State&, const Row&)
//   A map(const A (&v)[kInputs], int64_t col, const Stats&)
//   void store_row(int64_t row, const Stats&)   per-row outputs (layer norm's mean and rstd, a row's loss)
// Row, State and Stats are plain structs (the CUDA engine keeps them in registers and shared memory).
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/common/math.h"
#include "tensor/half.h"
#include "tensor/shape.h"

namespace trifecta {

// A tensor as [outer, n, inner] around one dim.
struct RowLayout {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
  int64_t rows() const { return outer * inner; }
};

inline RowLayout row_layout(const Shape& shape, int dim) {
  RowLayout layout;
  for (int d = 0; d < shape.size(); ++d) {
    if (d < dim)
      layout.outer *= shape[d];
    else if (d == dim)
      layout.n = shape[d];
    else
      layout.inner *= shape[d];
  }
  return layout;
}

// The row tensors a policy reads (all contiguous, of one shape) and the output it writes (null when the
// policy does not map).
template <class T, int K>
struct RowTensors {
  const T* in[K];
  T* out;
};

// The running state of a numerically stable softmax: m is the largest element so far and sum is
// sum(e^(x - m)) over the elements so far. Folding in an element larger than m rescales the sum by
// e^(m_old - m_new): the online normalizer of Milakov & Gimelshein, "Online normalizer calculation for
// softmax" (2018), which needs one pass over the row where the textbook form needs two.
template <class A>
struct SoftmaxState {
  A max;
  A sum;
};

template <class A>
TRIFECTA_HD inline SoftmaxState<A> softmax_state_init() {
  return {-std::numeric_limits<A>::infinity(), A(0)};
}

template <class A>
TRIFECTA_HD inline SoftmaxState<A> softmax_state_step(SoftmaxState<A> s, A x) {
  if (x > s.max) {
    // The old sum shrinks by e^(m_old - x); with m_old = -inf (nothing folded yet) that factor is 0.
    s.sum = s.sum * math::exp(s.max - x) + A(1);
    s.max = x;
  } else if (x != -std::numeric_limits<A>::infinity()) {
    // -inf contributes e^-inf = 0 (masked logits); NaN lands here and poisons the sum, as it should.
    s.sum += math::exp(x - s.max);
  }
  return s;
}

template <class A>
TRIFECTA_HD inline SoftmaxState<A> softmax_state_combine(SoftmaxState<A> a, SoftmaxState<A> b) {
  if (b.max > a.max) {
    const SoftmaxState<A> t = a;
    a = b;
    b = t;
  }
  // Now a.max >= b.max. A side that saw only -inf (sum 0, or NaN) adds its sum unscaled: e^(-inf - m)
  // would be NaN when both maxima are -inf.
  if (b.max == -std::numeric_limits<A>::infinity()) return {a.max, a.sum + b.sum};
  return {a.max, a.sum + b.sum * math::exp(b.max - a.max)};
}

// The CPU's fold of a contiguous run x[0..n) into a softmax state (host only): two branch-free passes, the
// maximum and then sum e^(x - max), which vectorize where the online step's branches and rescaling do not.
// Also returns sum x in *logit_sum when asked (cross-entropy's smoothing term). Returns false, leaving the
// run to the online fold, when the maximum is +inf or NaN, so both folds give the same state in those cases.
template <class A, class T>
bool softmax_fold_contiguous(const T* x, int64_t n, SoftmaxState<A>& state, A* logit_sum = nullptr) {
  constexpr int kLanes = 16;
  constexpr A kInf = std::numeric_limits<A>::infinity();
  A lanes[kLanes], sums[kLanes];
  for (int j = 0; j < kLanes; ++j) lanes[j] = -kInf, sums[j] = A(0);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const A v = convert<A>(x[i + j]);
      lanes[j] = v > lanes[j] ? v : lanes[j];
      sums[j] += v;
    }
  A max = -kInf, sum = A(0);
  for (; i < n; ++i) {
    const A v = convert<A>(x[i]);
    max = v > max ? v : max;
    sum += v;
  }
  for (int j = 0; j < kLanes; ++j) max = lanes[j] > max ? lanes[j] : max, sum += sums[j];
  if (logit_sum) *logit_sum = sum;
  if (!(max < kInf)) return false;  // +inf; NaN never wins a '>'
  if (max == -kInf) {               // every element -inf (masked out): the empty fold
    state = softmax_state_init<A>();
    return true;
  }
  for (A& lane : lanes) lane = A(0);
  for (i = 0; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += math::exp(convert<A>(x[i + j]) - max);
  A exp_sum = A(0);
  for (; i < n; ++i) exp_sum += math::exp(convert<A>(x[i]) - max);
  for (const A lane : lanes) exp_sum += lane;  // NaN elements poison the sum here, as in the online fold
  state = {max, exp_sum};
  return true;
}

}  // namespace trifecta
