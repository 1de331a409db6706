// Softmax and log_softmax along one dim, forward and backward, as row-engine policies (row_engine.h) shared
// by the CPU and CUDA kernels, and the kernel signatures the front ends call.
//
//   forward     y = e^(x - m) / sum_j e^(x_j - m)      with m = max_j x_j, so no exponential overflows
//               y = x - m - log(sum_j e^(x_j - m))     (log_softmax)
//   backward    dx = y * (g - sum_j g_j y_j)            the Jacobian of softmax is diag(y) - y y^T
//               dx = g - e^y * sum_j g_j                (log_softmax: d(log y_i)/dx_k = [i == k] - y_k)
#pragma once

#include <cstdint>
#include <limits>

#include "kernels/softmax/row_engine.h"
#include "tensor/tensor.h"

namespace trifecta {

enum class SoftmaxOp : uint8_t { Softmax, LogSoftmax };

// x and y contiguous and of one shape; dim is wrapped into [0, ndim) (a 0-dim x counts as one element).
using SoftmaxKernel = void(SoftmaxOp op, const Tensor& x, int dim, const Tensor& y);
// y is the forward output; grad_y and grad_x are contiguous and of y's shape.
using SoftmaxBackwardKernel = void(SoftmaxOp op, const Tensor& y, const Tensor& grad_y, int dim, const Tensor& grad_x);

template <class T_>
struct SoftmaxForward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 1;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  struct Row {};
  using State = SoftmaxState<A>;
  struct Stats {
    A max;
    A scale;  // 1 / sum for softmax, log(sum) for log_softmax
  };

  bool is_log;  // log_softmax rather than softmax

  TRIFECTA_HD Row load_row(int64_t) const { return {}; }
  TRIFECTA_HD State init() const { return softmax_state_init<A>(); }
  TRIFECTA_HD State fold(State s, const A (&v)[1], int64_t, const Row&) const { return softmax_state_step(s, v[0]); }
  TRIFECTA_HD static State combine(State a, State b) { return softmax_state_combine(a, b); }
  // The CPU engine's fold of a whole contiguous row (row_engine_cpu.h): two branch-free passes, the maximum
  // and then sum e^(x - max), which vectorize where the online step's branches and rescaling do not. Returns
  // false, leaving the row to the online fold, when the maximum is +inf or NaN, so both folds give the
  // same state in those cases too.
  bool fold_contiguous(const T* x, int64_t n, State& state) const {
    constexpr int kLanes = 16;
    A lanes[kLanes];
    for (A& lane : lanes) lane = -std::numeric_limits<A>::infinity();
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const A v = convert<A>(x[i + j]);
        lanes[j] = v > lanes[j] ? v : lanes[j];
      }
    A max = -std::numeric_limits<A>::infinity();
    for (; i < n; ++i) max = convert<A>(x[i]) > max ? convert<A>(x[i]) : max;
    for (const A lane : lanes) max = lane > max ? lane : max;
    if (!(max < std::numeric_limits<A>::infinity())) return false;  // +inf; NaN never wins a '>'
    if (max == -std::numeric_limits<A>::infinity()) {  // all -inf (masked out): the empty fold
      state = softmax_state_init<A>();
      return true;
    }
    for (A& lane : lanes) lane = A(0);
    for (i = 0; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) lanes[j] += math::exp(convert<A>(x[i + j]) - max);
    A sum = A(0);
    for (; i < n; ++i) sum += math::exp(convert<A>(x[i]) - max);
    for (const A lane : lanes) sum += lane;  // NaN elements poison the sum here, as in the online fold
    state = {max, sum};
    return true;
  }
  // The CPU engine's map of a whole contiguous row: the flag is tested once, outside the loops, so each loop
  // vectorizes (inside, the branch around an inlined exp is too large for the compiler to unswitch).
  void map_contiguous(const T* x, T* y, int64_t n, const Stats& st) const {
    if (is_log) {
      for (int64_t i = 0; i < n; ++i) y[i] = convert<T>(convert<A>(x[i]) - st.max - st.scale);
    } else {
      for (int64_t i = 0; i < n; ++i) y[i] = convert<T>(math::exp(convert<A>(x[i]) - st.max) * st.scale);
    }
  }
  TRIFECTA_HD Stats finalize(const State& s, const Row&) const {
    return {s.max, is_log ? math::log(s.sum) : A(1) / s.sum};
  }
  TRIFECTA_HD A map(const A (&v)[1], int64_t, const Stats& st) const {
    return is_log ? v[0] - st.max - st.scale : math::exp(v[0] - st.max) * st.scale;
  }
  TRIFECTA_HD void store_row(int64_t, const Stats&) const {}
};

// Inputs: the forward output y and the incoming gradient g.
template <class T_>
struct SoftmaxBackward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 2;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  struct Row {};
  using State = A;
  using Stats = A;

  bool is_log;  // log_softmax rather than softmax

  TRIFECTA_HD Row load_row(int64_t) const { return {}; }
  TRIFECTA_HD State init() const { return A(0); }
  TRIFECTA_HD State fold(State s, const A (&v)[2], int64_t, const Row&) const { return s + (is_log ? v[1] : v[1] * v[0]); }
  TRIFECTA_HD static State combine(State a, State b) { return a + b; }
  TRIFECTA_HD Stats finalize(const State& s, const Row&) const { return s; }
  TRIFECTA_HD A map(const A (&v)[2], int64_t, const Stats& sum) const {
    return is_log ? v[1] - math::exp(v[0]) * sum : v[0] * (v[1] - sum);
  }
  TRIFECTA_HD void store_row(int64_t, const Stats&) const {}
};

// The [outer, n, inner] split of a softmax over dim (a 0-dim tensor is one row of one element).
inline RowLayout softmax_layout(const Tensor& t, int dim) {
  return t.ndim() == 0 ? RowLayout{} : row_layout(t.shape(), dim);
}

}  // namespace trifecta
