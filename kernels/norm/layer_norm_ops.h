// Layer normalization (Ba, Kiros & Hinton, "Layer Normalization", 2016) over rows of n elements, as
// row-engine policies (kernels/softmax/row_engine.h) shared by the CPU and CUDA kernels.
//
//   forward   mean, var of the row (biased variance), rstd = 1 / sqrt(var + eps)
//             xhat = (x - mean) * rstd,  y = xhat * w + b
//   backward  with gw = g * w (the gradient reaching xhat), the gradient through mean and rstd is
//             dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))      (means over the row)
//             dw = sum over rows of g * xhat,  db = sum over rows of g
// The row's statistics are moments about its first element K (MomentSums in kernels/reduce/reduce_ops.h),
// which keeps the variance accurate to the compute type when the mean is large against the spread; partial
// sums merge by adding. The mean is kept as K + offset and x - mean computed as (x - K) - offset, exact for
// data clustered around a large value (rounding the mean itself would cost ulp(mean) / spread of every
// xhat). So the forward saves, per row in the compute type (float32 for 16-bit inputs), the offset
// mean - K and rstd, and every later xhat is layer_norm_xhat of the same pieces.
#pragma once

#include <cstdint>

#include "kernels/reduce/reduce_ops.h"
#include "kernels/softmax/row_engine.h"
#include "tensor/tensor.h"

namespace trifecta {

// x and y [rows, n] contiguous (n >= 1); weight and bias [n] contiguous in x's dtype, or undefined (1 and 0);
// offset (the mean less the row's first element) and rstd [rows] contiguous in the compute type.
using LayerNormKernel = void(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                             const Tensor& offset, const Tensor& rstd);
// grad_y and x [rows, n] contiguous; offset, rstd and weight as in the forward. Each of grad_x, grad_weight
// and grad_bias is written when defined (grad_x [rows, n], the others [n], all contiguous in x's dtype).
using LayerNormBackwardKernel = void(const Tensor& grad_y, const Tensor& x, const Tensor& offset, const Tensor& rstd,
                                     const Tensor& weight, const Tensor& grad_x, const Tensor& grad_weight,
                                     const Tensor& grad_bias);

// A row's normalization constants: its first element, the mean's offset from it, and rstd.
template <class A>
struct RowCentre {
  A shift;
  A offset;
  A rstd;
};

template <class A>
TRIFECTA_HD inline A layer_norm_xhat(A v, const RowCentre<A>& r) {
  return ((v - r.shift) - r.offset) * r.rstd;
}

// S is the type the moment sums accumulate in: the compute type on the GPU, double on the CPU (as the
// CPU's var, kernels/reduce/reduce_cpu.cpp).
template <class T_, class S = compute_t<T_>>
struct LayerNormForward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 1;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  struct Row {
    S shift;
  };
  using State = MomentSums<S>;
  using Stats = RowCentre<A>;

  const T* x;  // for the rows' first elements
  int64_t n;
  const T* weight;  // null: 1
  const T* bias;    // null: 0
  A eps;
  A* offset;
  A* rstd;

  TRIFECTA_HD Row load_row(int64_t row) const { return {convert<S>(x[row * n])}; }
  TRIFECTA_HD State init() const { return {S(0), S(0)}; }
  TRIFECTA_HD State fold(State s, const A (&v)[1], int64_t, const Row& row) const {
    return add_deviation(s, static_cast<S>(v[0]) - row.shift);
  }
  TRIFECTA_HD static State combine(State a, State b) { return merge_sums(a, b); }
  // Host only: the CPU engine folds a whole contiguous row with the vectorized moments_of_run.
  bool fold_contiguous(const T* xs, int64_t count, const Row& row, State& s) const {
    s = moments_of_run(xs, count, row.shift, init());
    return true;
  }
  TRIFECTA_HD Stats finalize(const State& s, const Row& row) const {
    const CentredMoments<S> m = centre(s, n);
    const A var = static_cast<A>(m.m2 / static_cast<S>(n));
    return {static_cast<A>(row.shift), static_cast<A>(m.offset), math::rsqrt(var + eps)};
  }
  TRIFECTA_HD A map(const A (&v)[1], int64_t col, const Stats& st) const {
    A y = layer_norm_xhat(v[0], st);
    if (weight) y *= convert<A>(weight[col]);
    if (bias) y += convert<A>(bias[col]);
    return y;
  }
  TRIFECTA_HD void store_row(int64_t row, const Stats& st) const {
    offset[row] = st.offset;
    rstd[row] = st.rstd;
  }
};

// The forward policy over the kernel's tensors (host code of both devices).
template <class T, class S = compute_t<T>>
LayerNormForward<T, S> layer_norm_forward_policy(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                                                 const Tensor& offset, const Tensor& rstd) {
  using A = compute_t<T>;
  return {static_cast<const T*>(x.raw_data()),
          x.size(1),
          weight.defined() ? static_cast<const T*>(weight.raw_data()) : nullptr,
          bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr,
          static_cast<A>(eps),
          static_cast<A*>(offset.raw_data()),
          static_cast<A*>(rstd.raw_data())};
}

// The input gradient. Inputs: the incoming gradient g and the forward input x.
template <class T_>
struct LayerNormBackward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 2;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  using Row = RowCentre<A>;
  struct State {
    A sum_gw;
    A sum_gw_xhat;
  };
  struct Stats {
    Row row;
    A mean_gw;
    A mean_gw_xhat;
  };

  const T* x;  // for the rows' first elements
  int64_t n;
  const T* weight;  // null: 1
  const A* offset;
  const A* rstd;

  TRIFECTA_HD A scaled_grad(A g, int64_t col) const { return weight ? g * convert<A>(weight[col]) : g; }

  TRIFECTA_HD Row load_row(int64_t row) const { return {convert<A>(x[row * n]), offset[row], rstd[row]}; }
  TRIFECTA_HD State init() const { return {A(0), A(0)}; }
  TRIFECTA_HD State fold(State s, const A (&v)[2], int64_t col, const Row& row) const {
    const A gw = scaled_grad(v[0], col);
    s.sum_gw += gw;
    s.sum_gw_xhat += gw * layer_norm_xhat(v[1], row);
    return s;
  }
  TRIFECTA_HD static State combine(State a, State b) { return {a.sum_gw + b.sum_gw, a.sum_gw_xhat + b.sum_gw_xhat}; }
  TRIFECTA_HD Stats finalize(const State& s, const Row& row) const {
    const A inv_n = A(1) / static_cast<A>(n);
    return {row, s.sum_gw * inv_n, s.sum_gw_xhat * inv_n};
  }
  TRIFECTA_HD A map(const A (&v)[2], int64_t col, const Stats& st) const {
    const A gw = scaled_grad(v[0], col), xhat = layer_norm_xhat(v[1], st.row);
    return st.row.rstd * (gw - st.mean_gw - xhat * st.mean_gw_xhat);
  }
  TRIFECTA_HD void store_row(int64_t, const Stats&) const {}
};

}  // namespace trifecta
