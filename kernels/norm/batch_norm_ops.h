// Batch normalization (Ioffe & Szegedy, "Batch Normalization", 2015) of x [N, C, *] per channel, over the
// M = N * S elements of a channel (S: the product of the trailing dims, 1 for [N, C]). The pieces here are
// shared by the CPU and CUDA kernels, which differ only in how they split the channel reductions.
//
//   training   mean, var = the batch's statistics; the biased var (divide by M) normalizes, and the running
//              statistics move towards the batch's with the unbiased var (divide by M - 1), as PyTorch does:
//                running_mean = (1 - momentum) * running_mean + momentum * mean
//                running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
//   eval       mean, var = the running statistics
//   forward    rstd = 1 / sqrt(var + eps),  xhat = (x - mean) * rstd,  y = xhat * w + b
//   backward   dw = sum over the channel of g * xhat,  db = sum of g
//              training: dx = w * rstd * (g - db / M - xhat * dw / M)   (the batch statistics depend on x)
//              eval:     dx = g * w * rstd                              (the running statistics do not)
// The forward saves mean and rstd per channel in the compute type (float32 for 16-bit inputs) for the
// backward, in both modes. Running statistics may be x's dtype or, for 16-bit x, float32 (mixed precision).
#pragma once

#include <cstdint>

#include "kernels/reduce/reduce_ops.h"
#include "tensor/tensor.h"

namespace trifecta {

// x, y [N, C, *] contiguous; weight, bias, running_mean, running_var [C] contiguous or undefined (running
// statistics are updated in place when training, read when not); save_mean, save_rstd [C] in the compute type.
using BatchNormKernel = void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                             const Tensor& running_var, bool training, double momentum, double eps, const Tensor& y,
                             const Tensor& save_mean, const Tensor& save_rstd);
// grad_y and x as x in the forward; save_mean, save_rstd, weight as there. Each of grad_x [N, C, *],
// grad_weight and grad_bias [C] is written when defined.
using BatchNormBackwardKernel = void(const Tensor& grad_y, const Tensor& x, const Tensor& save_mean,
                                     const Tensor& save_rstd, const Tensor& weight, bool training,
                                     const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias);

struct ChannelLayout {
  int64_t batch = 1;     // N
  int64_t channels = 1;  // C
  int64_t spatial = 1;   // S
  int64_t per_channel() const { return batch * spatial; }  // M
  TRIFECTA_HD int64_t channel_of(int64_t offset) const { return offset / spatial % channels; }
};

inline ChannelLayout channel_layout(const Shape& shape) {
  ChannelLayout layout;
  layout.batch = shape[0];
  layout.channels = shape[1];
  for (int d = 2; d < shape.size(); ++d) layout.spatial *= shape[d];
  return layout;
}

// Channel reductions: fold(state, offset, channel) takes the element at flat offset, which lies in channel.
// combine is associative, so the devices may split a channel's elements into any tree of partial states.

// Mean and variance of x (Welford, merged pairwise; see kernels/reduce/reduce_ops.h).
template <class T>
struct BatchStatsFold {
  using A = compute_t<T>;
  using State = WelfordState<A>;
  const T* x;
  TRIFECTA_HD static State init() { return VarReducer<T>::init(); }
  TRIFECTA_HD State fold(State s, int64_t offset, int64_t) const { return VarReducer<T>::step(s, convert<A>(x[offset]), 0); }
  TRIFECTA_HD static State combine(State a, State b) { return VarReducer<T>::combine(a, b); }
};

template <class A>
struct GradSums {
  A sum_g;
  A sum_g_xhat;
};

// The backward's sums of g and g * xhat.
template <class T>
struct GradSumsFold {
  using A = compute_t<T>;
  using State = GradSums<A>;
  const T* grad_y;
  const T* x;
  const A* mean;
  const A* rstd;
  TRIFECTA_HD static State init() { return {A(0), A(0)}; }
  TRIFECTA_HD State fold(State s, int64_t offset, int64_t c) const {
    const A g = convert<A>(grad_y[offset]);
    s.sum_g += g;
    s.sum_g_xhat += g * (convert<A>(x[offset]) - mean[c]) * rstd[c];
    return s;
  }
  TRIFECTA_HD static State combine(State a, State b) { return {a.sum_g + b.sum_g, a.sum_g_xhat + b.sum_g_xhat}; }
};

// What becomes of a channel's total state.

// Training forward: save mean and rstd, update the running statistics (of dtype R) when present.
template <class T, class R>
struct BatchStatsFinish {
  using A = compute_t<T>;
  A eps;
  A momentum;
  A* save_mean;
  A* save_rstd;
  R* running_mean;  // null: not tracked
  R* running_var;
  TRIFECTA_HD void operator()(int64_t c, const WelfordState<A>& s) const {
    const A count = static_cast<A>(s.count);
    save_mean[c] = s.mean;
    save_rstd[c] = math::rsqrt(s.m2 / count + eps);
    if (running_mean) running_mean[c] = convert<R>((A(1) - momentum) * convert<A>(running_mean[c]) + momentum * s.mean);
    if (running_var) {
      const A unbiased = s.m2 / (count - A(1));
      running_var[c] = convert<R>((A(1) - momentum) * convert<A>(running_var[c]) + momentum * unbiased);
    }
  }
};

// Backward: keep the sums for the input gradient, and write the weight and bias gradients when asked.
template <class T>
struct GradSumsFinish {
  using A = compute_t<T>;
  GradSums<A>* sums;
  T* grad_weight;  // null: not wanted
  T* grad_bias;
  TRIFECTA_HD void operator()(int64_t c, const GradSums<A>& s) const {
    sums[c] = s;
    if (grad_weight) grad_weight[c] = convert<T>(s.sum_g_xhat);
    if (grad_bias) grad_bias[c] = convert<T>(s.sum_g);
  }
};

// Eval forward: the statistics to normalize with come from the running statistics.
template <class T, class R>
struct EvalStats {
  using A = compute_t<T>;
  const R* running_mean;
  const R* running_var;
  A eps;
  A* save_mean;
  A* save_rstd;
  TRIFECTA_HD void operator()(int64_t c) const {
    save_mean[c] = convert<A>(running_mean[c]);
    save_rstd[c] = math::rsqrt(convert<A>(running_var[c]) + eps);
  }
};

// Elementwise passes, one call per flat offset.

template <class T>
struct BatchNormApply {
  using A = compute_t<T>;
  ChannelLayout layout;
  const T* x;
  T* y;
  const A* mean;
  const A* rstd;
  const T* weight;  // null: 1
  const T* bias;    // null: 0
  TRIFECTA_HD void operator()(int64_t i) const {
    const int64_t c = layout.channel_of(i);
    A v = (convert<A>(x[i]) - mean[c]) * rstd[c];
    if (weight) v *= convert<A>(weight[c]);
    if (bias) v += convert<A>(bias[c]);
    y[i] = convert<T>(v);
  }
};

template <class T>
struct BatchNormInputGrad {
  using A = compute_t<T>;
  ChannelLayout layout;
  const T* grad_y;
  const T* x;
  T* grad_x;
  const A* mean;
  const A* rstd;
  const T* weight;           // null: 1
  const GradSums<A>* sums;   // null in eval mode: the statistics are constants
  A inv_count;               // 1 / M
  TRIFECTA_HD void operator()(int64_t i) const {
    const int64_t c = layout.channel_of(i);
    const A scale = weight ? rstd[c] * convert<A>(weight[c]) : rstd[c];
    const A g = convert<A>(grad_y[i]);
    if (!sums) {
      grad_x[i] = convert<T>(g * scale);
      return;
    }
    const A xhat = (convert<A>(x[i]) - mean[c]) * rstd[c];
    grad_x[i] = convert<T>(scale * (g - sums[c].sum_g * inv_count - xhat * sums[c].sum_g_xhat * inv_count));
  }
};

// Calls f(type_tag<R>) for the running statistics' element type: T itself, or float for 16-bit T. An
// undefined tensor (statistics not tracked) counts as T.
template <class T, class F>
void dispatch_running_dtype(const Tensor& running, F&& f) {
  if (!running.defined() || running.dtype() == dtype_of<T>()) return f(type_tag<T>{});
  if constexpr (!std::is_same_v<compute_t<T>, T>) {
    if (running.dtype() == DType::Float32) return f(type_tag<float>{});
  }
  TRIFECTA_FAIL("batch_norm", "running statistics of dtype ", dtype_name(running.dtype()), " do not suit input of dtype ",
                dtype_name(dtype_of<T>()));
}

}  // namespace trifecta
