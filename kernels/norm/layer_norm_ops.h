// Layer normalization (Ba, Kiros & Hinton, "Layer Normalization", 2016) over rows of n elements, as
// row-engine policies (kernels/softmax/row_engine.h) shared by the CPU and CUDA kernels.
//
//   forward   mean, var = Welford over the row (biased variance), rstd = 1 / sqrt(var + eps)
//             xhat = (x - mean) * rstd,  y = xhat * w + b
//   backward  with gw = g * w (the gradient reaching xhat), the gradient through mean and rstd is
//             dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))      (means over the row)
//             dw = sum over rows of g * xhat,  db = sum over rows of g
// Welford's update (1962) keeps the variance accurate when the mean is large against the spread, where
// E[x^2] - E[x]^2 would cancel; partial states merge with Chan et al.'s pairwise formula, both taken from the
// var reduction (kernels/reduce/reduce_ops.h). The forward saves mean and rstd per row in the compute type
// (float32 for 16-bit inputs) so the backward need not recompute them.
#pragma once

#include <cstdint>

#include "kernels/reduce/reduce_ops.h"
#include "kernels/softmax/row_engine.h"
#include "tensor/tensor.h"

namespace trifecta {

// x and y [rows, n] contiguous; weight and bias [n] contiguous in x's dtype, or undefined (1 and 0);
// mean and rstd [rows] contiguous in the compute type.
using LayerNormKernel = void(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                             const Tensor& mean, const Tensor& rstd);
// grad_y and x [rows, n] contiguous; mean, rstd and weight as in the forward. Each of grad_x, grad_weight and
// grad_bias is written when defined (grad_x [rows, n], the others [n], all contiguous in x's dtype).
using LayerNormBackwardKernel = void(const Tensor& grad_y, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                     const Tensor& weight, const Tensor& grad_x, const Tensor& grad_weight,
                                     const Tensor& grad_bias);

template <class T_>
struct LayerNormForward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 1;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  struct Row {};
  using State = WelfordState<A>;
  struct Stats {
    A mean;
    A rstd;
  };

  const T* weight;  // null: 1
  const T* bias;    // null: 0
  A eps;
  A* mean;
  A* rstd;

  TRIFECTA_HD Row load_row(int64_t) const { return {}; }
  TRIFECTA_HD State init() const { return VarReducer<T>::init(); }
  TRIFECTA_HD State fold(State s, const A (&v)[1], int64_t, const Row&) const { return VarReducer<T>::step(s, v[0], 0); }
  TRIFECTA_HD static State combine(State a, State b) { return VarReducer<T>::combine(a, b); }
  TRIFECTA_HD Stats finalize(const State& s, const Row&) const {
    return {s.mean, math::rsqrt(s.m2 / static_cast<A>(s.count) + eps)};
  }
  TRIFECTA_HD A map(const A (&v)[1], int64_t col, const Stats& st) const {
    A y = (v[0] - st.mean) * st.rstd;
    if (weight) y *= convert<A>(weight[col]);
    if (bias) y += convert<A>(bias[col]);
    return y;
  }
  TRIFECTA_HD void store_row(int64_t row, const Stats& st) const {
    mean[row] = st.mean;
    rstd[row] = st.rstd;
  }
};

// The input gradient. Inputs: the incoming gradient g and the forward input x.
template <class T_>
struct LayerNormBackward {
  using T = T_;
  using A = compute_t<T>;
  static constexpr int kInputs = 2;
  static constexpr bool kReduces = true;
  static constexpr bool kMaps = true;
  struct Row {
    A mean;
    A rstd;
  };
  struct State {
    A sum_gw;
    A sum_gw_xhat;
  };
  struct Stats {
    A mean;
    A rstd;
    A mean_gw;
    A mean_gw_xhat;
  };

  const T* weight;  // null: 1
  const A* mean;
  const A* rstd;
  A inv_n;

  TRIFECTA_HD A scaled_grad(A g, int64_t col) const { return weight ? g * convert<A>(weight[col]) : g; }

  TRIFECTA_HD Row load_row(int64_t row) const { return {mean[row], rstd[row]}; }
  TRIFECTA_HD State init() const { return {A(0), A(0)}; }
  TRIFECTA_HD State fold(State s, const A (&v)[2], int64_t col, const Row& row) const {
    const A gw = scaled_grad(v[0], col), xhat = (v[1] - row.mean) * row.rstd;
    s.sum_gw += gw;
    s.sum_gw_xhat += gw * xhat;
    return s;
  }
  TRIFECTA_HD static State combine(State a, State b) { return {a.sum_gw + b.sum_gw, a.sum_gw_xhat + b.sum_gw_xhat}; }
  TRIFECTA_HD Stats finalize(const State& s, const Row& row) const {
    return {row.mean, row.rstd, s.sum_gw * inv_n, s.sum_gw_xhat * inv_n};
  }
  TRIFECTA_HD A map(const A (&v)[2], int64_t col, const Stats& st) const {
    const A gw = scaled_grad(v[0], col), xhat = (v[1] - st.mean) * st.rstd;
    return st.rstd * (gw - st.mean_gw - xhat * st.mean_gw_xhat);
  }
  TRIFECTA_HD void store_row(int64_t, const Stats&) const {}
};

}  // namespace trifecta
