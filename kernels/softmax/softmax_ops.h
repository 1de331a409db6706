// Softmax and log_softmax along one dim, forward and backward, as row-engine policies (row_engine.h) shared
// by the CPU and CUDA kernels, and the kernel signatures the front ends call.
//
//   forward     y = e^(x - m) / sum_j e^(x_j - m)      with m = max_j x_j, so no exponential overflows
//               y = x - m - log(sum_j e^(x_j - m))     (log_softmax)
//   backward    dx = y * (g - sum_j g_j y_j)            the Jacobian of softmax is diag(y) - y y^T
//               dx = g - e^y * sum_j g_j                (log_softmax: d(log y_i)/dx_k = [i == k] - y_k)
#pragma once

#include <cstdint>

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
  // The CPU engine's whole-row fold and map (row_engine_cpu.h), which vectorize.
  bool fold_contiguous(const T* x, int64_t n, const Row&, State& state) const {
    return softmax_fold_contiguous<A>(x, n, state);
  }
  // The flag is tested once, outside the loops: inside, the branch around an inlined exp is too large for
  // the compiler to unswitch, and the loop would stay scalar.
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
