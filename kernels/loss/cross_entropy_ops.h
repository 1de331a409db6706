// Fused cross-entropy over class logits, as row-engine policies (kernels/softmax/row_engine.h) shared by the
// CPU and CUDA kernels. One pass over a row of C logits x with target class t gives everything the loss
// needs: lse = log(sum_c e^(x_c)) (online, as in softmax), the target's logit x_t, and sum_c x_c. With label
// smoothing eps (Szegedy et al., "Rethinking the Inception Architecture", 2016) the target distribution is
// (1 - eps) one_hot(t) + eps / C, so
//
//   loss = (1 - eps) * (lse - x_t) + eps / C * sum_c (lse - x_c)
//        = (1 - eps) * (lse - x_t) + eps * (lse - mean_c x_c)
//   d loss / d x_c = softmax_c - (1 - eps) [c == t] - eps / C
//
// A row whose target is ignore_index has loss 0 and gradient 0. The forward writes each row's loss and lse
// (in the compute type: float32 for 16-bit logits); the backward rebuilds softmax_c = e^(x_c - lse) from the
// saved lse, so it too reads each logit once.
#pragma once

#include <cstdint>

#include "kernels/softmax/row_engine.h"
#include "tensor/tensor.h"

namespace trifecta {

// logits [N, C] contiguous; targets [N] int64 contiguous; row_loss and row_lse [N] contiguous in the compute
// type (float32 for 16-bit logits). A target outside [0, C) that is not ignore_index is an Error naming the
// op, the row and the value.
using CrossEntropyKernel = void(const Tensor& logits, const Tensor& targets, double label_smoothing,
                                int64_t ignore_index, const Tensor& row_loss, const Tensor& row_lse);
// grad_rows [N] in the compute type, any stride (0 when one gradient scales every row): d L / d loss_row.
// grad_logits [N, C] contiguous in the logits' dtype.
using CrossEntropyBackwardKernel = void(const Tensor& logits, const Tensor& targets, const Tensor& row_lse,
                                        const Tensor& grad_rows, double label_smoothing, int64_t ignore_index,
                                        const Tensor& grad_logits);

[[noreturn]] inline void fail_target_out_of_range(int64_t row, int64_t target, int64_t classes, int64_t ignore_index) {
  TRIFECTA_FAIL("cross_entropy", "target ", target, " (row ", row, ") is out of range for ", classes,
                " classes; targets must lie in [0, ", classes, ") or equal ignore_index (", ignore_index, ")");
}

template <class T_>
struct CrossEntropyForward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 1;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = false;
  struct Row {
    int64_t target;  // -1 for an ignored row
  };
  struct State {
    SoftmaxState<A> softmax;
    A logit_sum;
    A target_logit;  // only the target's column adds to it, so partial states merge by addition
  };
  struct Stats {
    A lse;
    A loss;
  };

  const int64_t* targets;
  int64_t classes;
  int64_t ignore_index;
  A smoothing;
  A* row_loss;
  A* row_lse;
  // On the GPU: the lowest row whose target is out of range (initialized to the largest value), which the
  // host reads back after the kernel. The CPU kernel checks targets before it runs and passes null.
  unsigned long long* bad_row;

  TRIFECTA_HD Row load_row(int64_t row) const {
    const int64_t t = targets[row];
    if (t == ignore_index) return {-1};
    if (t < 0 || t >= classes) {
#if defined(__CUDA_ARCH__)
      atomicMin(bad_row, static_cast<unsigned long long>(row));
#endif
      return {-1};
    }
    return {t};
  }
  TRIFECTA_HD State init() const { return {softmax_state_init<A>(), A(0), A(0)}; }
  TRIFECTA_HD State fold(State s, const A (&v)[1], int64_t col, const Row& row) const {
    s.softmax = softmax_state_step(s.softmax, v[0]);
    s.logit_sum += v[0];
    if (col == row.target) s.target_logit = v[0];
    return s;
  }
  TRIFECTA_HD static State combine(State a, State b) {
    return {softmax_state_combine(a.softmax, b.softmax), a.logit_sum + b.logit_sum, a.target_logit + b.target_logit};
  }
  // The CPU engine's whole-row fold (row_engine_cpu.h), which vectorizes.
  bool fold_contiguous(const T* x, int64_t n, const Row& row, State& state) const {
    state.target_logit = row.target >= 0 ? convert<A>(x[row.target]) : A(0);
    return softmax_fold_contiguous<A>(x, n, state.softmax, &state.logit_sum);
  }
  TRIFECTA_HD Stats finalize(const State& s, const Row& row) const {
    const A lse = s.softmax.max + math::log(s.softmax.sum);
    if (row.target < 0) return {lse, A(0)};
    const A nll = lse - s.target_logit;
    // Without smoothing the uniform term is skipped, not multiplied by 0: a -inf logit makes it infinite.
    if (smoothing == A(0)) return {lse, nll};
    const A mean_logit = s.logit_sum / static_cast<A>(classes);
    return {lse, (A(1) - smoothing) * nll + smoothing * (lse - mean_logit)};
  }
  TRIFECTA_HD void store_row(int64_t row, const Stats& st) const {
    row_loss[row] = st.loss;
    row_lse[row] = st.lse;
  }
};

template <class T_>
struct CrossEntropyBackward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 1;
  static constexpr bool kReduces = false;
  static constexpr bool kMaps = true;
  struct Row {
    int64_t target;  // -1 for an ignored row
    A lse;
    A grad;
  };
  struct State {};
  using Stats = Row;

  const int64_t* targets;
  const A* row_lse;
  const A* grad_rows;
  int64_t grad_stride;
  int64_t classes;
  int64_t ignore_index;
  A smoothing;

  TRIFECTA_HD Row load_row(int64_t row) const {
    const int64_t t = targets[row];
    if (t == ignore_index) return {-1, A(0), A(0)};
    return {t, row_lse[row], grad_rows[row * grad_stride]};
  }
  TRIFECTA_HD Stats finalize(const State&, const Row& row) const { return row; }
  TRIFECTA_HD A map(const A (&v)[1], int64_t col, const Stats& st) const {
    if (st.target < 0) return A(0);
    const A one_hot = col == st.target ? A(1) - smoothing : A(0);
    return st.grad * (math::exp(v[0] - st.lse) - one_hot - smoothing / static_cast<A>(classes));
  }
  // The CPU engine's whole-row map: the same formula, with the target's branch taken out of the loop so that
  // the loop vectorizes, and the target's element redone with its one-hot term.
  void map_contiguous(const T* x, T* y, int64_t n, const Stats& st) const {
    if (st.target < 0) {
      for (int64_t i = 0; i < n; ++i) y[i] = convert<T>(A(0));
      return;
    }
    const A uniform = smoothing / static_cast<A>(classes);
    for (int64_t i = 0; i < n; ++i) y[i] = convert<T>(st.grad * (math::exp(convert<A>(x[i]) - st.lse) - uniform));
    const A v[1] = {convert<A>(x[st.target])};
    y[st.target] = convert<T>(map(v, st.target, st));
  }
  TRIFECTA_HD void store_row(int64_t, const Stats&) const {}
};

}  // namespace trifecta
