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
//
// The batch statistics are moments about the channel's first element K = x[0, c, 0, ...] (MomentSums in
// kernels/reduce/reduce_ops.h), which keeps them accurate when the mean is large against the spread. For the same reason the mean is kept as K + offset, and x - mean is computed as
// (x - K) - offset: exact for data clustered around a large value, where rounding the mean itself to the
// compute type would cost ulp(mean) / spread of every xhat. So the forward saves, per channel in the compute
// type (float32 for 16-bit inputs), rstd and the centre's offset: mean - K when training, the running mean
// (with K = 0) in eval. An input with no elements per channel (M = 0) normalizes nothing and leaves the
// running statistics alone, as in PyTorch; its weight and bias gradients are zero.
// Running statistics may be x's dtype or, for 16-bit x, float32 (mixed precision).
#pragma once

#include <cstdint>

#include "kernels/reduce/reduce_ops.h"
#include "tensor/tensor.h"

namespace trifecta {

// x, y [N, C, *] contiguous; weight, bias, running_mean, running_var [C] contiguous or undefined (running
// statistics are updated in place when training, read when not); save_offset, save_rstd [C] in the compute
// type.
using BatchNormKernel = void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                             const Tensor& running_var, bool training, double momentum, double eps, const Tensor& y,
                             const Tensor& save_offset, const Tensor& save_rstd);
// grad_y and x as x in the forward; save_offset, save_rstd, weight as there. Each of grad_x [N, C, *],
// grad_weight and grad_bias [C] is written when defined.
using BatchNormBackwardKernel = void(const Tensor& grad_y, const Tensor& x, const Tensor& save_offset,
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

// Where channel c is centred: mean = shift(c) + offset[c], shift(c) being x[0, c, 0, ...] when training
// and 0 in eval.
template <class T>
struct ChannelCentre {
  using A = compute_t<T>;
  const T* x;  // null: shift 0
  int64_t spatial;
  const A* offset;
  TRIFECTA_HD A shift(int64_t c) const { return x ? convert<A>(x[c * spatial]) : A(0); }
};

// Channel reductions: init(c) starts channel c's partial states, fold(state, offset, c) takes the element at
// flat offset (which lies in channel c), and the CPU's fold_run(state, offset, count, c) takes count
// contiguous elements of channel c at once (host only, vectorized). combine is associative, so the devices
// may split a channel's elements into any tree of partial states.

// The sums of x - K and (x - K)^2, accumulated in S: the compute type on the GPU, double on the CPU (as
// the CPU's var, kernels/reduce/reduce_cpu.cpp).
template <class T, class S = compute_t<T>>
struct BatchStatsFold {
  using State = MomentSums<S>;
  const T* x;
  int64_t spatial;
  TRIFECTA_HD S shift(int64_t c) const { return convert<S>(x[c * spatial]); }
  TRIFECTA_HD static State init(int64_t) { return {S(0), S(0)}; }
  TRIFECTA_HD State fold(State s, int64_t offset, int64_t c) const {
    return add_deviation(s, convert<S>(x[offset]) - shift(c));
  }
  State fold_run(State s, int64_t offset, int64_t count, int64_t c) const {
    return moments_of_run(x + offset, count, shift(c), s);
  }
  TRIFECTA_HD static State combine(State a, State b) { return merge_sums(a, b); }
};

template <class A>
struct GradSums {
  A sum_g;
  A sum_g_dev;  // sum of g * (x - mean): rstd times it is sum of g * xhat
};

// What the input gradient needs of a channel's sums.
template <class A>
struct ChannelGradSums {
  A sum_g;
  A sum_g_xhat;
};

// The backward's sums of g and g * (x - mean).
template <class T>
struct GradSumsFold {
  using A = compute_t<T>;
  using State = GradSums<A>;
  const T* grad_y;
  const T* x;
  ChannelCentre<T> centre;
  TRIFECTA_HD static State init(int64_t) { return {A(0), A(0)}; }
  TRIFECTA_HD State fold(State s, int64_t offset, int64_t c) const {
    const A g = convert<A>(grad_y[offset]);
    s.sum_g += g;
    s.sum_g_dev += g * ((convert<A>(x[offset]) - centre.shift(c)) - centre.offset[c]);
    return s;
  }
  State fold_run(State s, int64_t offset, int64_t count, int64_t c) const {
    constexpr int L = 128 / sizeof(A);  // independent sums, so the loop vectorizes (as moments_of_run)
    const A shift = centre.shift(c), centre_offset = centre.offset[c];
    const T* g = grad_y + offset;
    const T* xs = x + offset;
    A sum_g[L] = {}, sum_g_dev[L] = {};
    int64_t i = 0;
    for (; i + L <= count; i += L)
      for (int j = 0; j < L; ++j) {
        const A gj = convert<A>(g[i + j]);
        sum_g[j] += gj;
        sum_g_dev[j] += gj * ((convert<A>(xs[i + j]) - shift) - centre_offset);
      }
    for (; i < count; ++i) {
      const A gi = convert<A>(g[i]);
      s.sum_g += gi;
      s.sum_g_dev += gi * ((convert<A>(xs[i]) - shift) - centre_offset);
    }
    for (int width = L / 2; width >= 1; width /= 2)
      for (int j = 0; j < width; ++j) sum_g[j] += sum_g[j + width], sum_g_dev[j] += sum_g_dev[j + width];
    return {s.sum_g + sum_g[0], s.sum_g_dev + sum_g_dev[0]};
  }
  TRIFECTA_HD static State combine(State a, State b) { return {a.sum_g + b.sum_g, a.sum_g_dev + b.sum_g_dev}; }
};

// What becomes of a channel's total state.

// Training forward: save the centre's offset and rstd, update the running statistics (of dtype R) when
// present.
template <class T, class R, class S = compute_t<T>>
struct BatchStatsFinish {
  using A = compute_t<T>;
  BatchStatsFold<T, S> stats;  // for the shifts
  int64_t count;               // M
  A eps;
  A momentum;
  A* save_offset;
  A* save_rstd;
  R* running_mean;  // null: not tracked
  R* running_var;
  TRIFECTA_HD void operator()(int64_t c, const MomentSums<S>& s) const {
    const CentredMoments<S> m = centre(s, count);
    save_offset[c] = static_cast<A>(m.offset);
    save_rstd[c] = math::rsqrt(static_cast<A>(m.m2 / static_cast<S>(count)) + eps);
    if (running_mean) {
      const A mean = static_cast<A>(stats.shift(c) + m.offset);
      running_mean[c] = convert<R>((A(1) - momentum) * convert<A>(running_mean[c]) + momentum * mean);
    }
    if (running_var) {
      const A unbiased = static_cast<A>(m.m2 / static_cast<S>(count - 1));
      running_var[c] = convert<R>((A(1) - momentum) * convert<A>(running_var[c]) + momentum * unbiased);
    }
  }
};

// Backward: keep the sums for the input gradient (with sum g * xhat in place of sum g * (x - mean)), and
// write the weight and bias gradients when asked.
template <class T>
struct GradSumsFinish {
  using A = compute_t<T>;
  const A* rstd;
  ChannelGradSums<A>* sums;
  T* grad_weight;  // null: not wanted
  T* grad_bias;
  TRIFECTA_HD void operator()(int64_t c, const GradSums<A>& s) const {
    const A sum_g_xhat = s.sum_g_dev * rstd[c];
    sums[c] = {s.sum_g, sum_g_xhat};
    if (grad_weight) grad_weight[c] = convert<T>(sum_g_xhat);
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
  A* save_offset;
  A* save_rstd;
  TRIFECTA_HD void operator()(int64_t c) const {
    save_offset[c] = convert<A>(running_mean[c]);
    save_rstd[c] = math::rsqrt(convert<A>(running_var[c]) + eps);
  }
};

// Elementwise passes: constants(c) gathers channel c's constants, at(value(s), constants) computes one
// element. The CUDA kernels call both per element; the CPU hoists constants out of each plane of S.

template <class T>
struct BatchNormApply {
  using A = compute_t<T>;
  struct Constants {
    A shift, offset, scale, bias;
  };
  ChannelLayout layout;
  const T* x;
  T* y;
  ChannelCentre<T> centre;
  const A* rstd;
  const T* weight;  // null: 1
  const T* bias;    // null: 0
  TRIFECTA_HD Constants constants(int64_t c) const {
    return {centre.shift(c), centre.offset[c], weight ? rstd[c] * convert<A>(weight[c]) : rstd[c],
            bias ? convert<A>(bias[c]) : A(0)};
  }
  TRIFECTA_HD static A at(A v, const Constants& k) { return ((v - k.shift) - k.offset) * k.scale + k.bias; }
  TRIFECTA_HD void operator()(int64_t i) const {
    y[i] = convert<T>(at(convert<A>(x[i]), constants(layout.channel_of(i))));
  }
};

template <class T>
struct BatchNormInputGrad {
  using A = compute_t<T>;
  struct Constants {
    bool batch_stats;  // training: the statistics depend on x
    A shift, offset, rstd, scale, mean_g, mean_g_xhat;
  };
  ChannelLayout layout;
  const T* grad_y;
  const T* x;
  T* grad_x;
  ChannelCentre<T> centre;
  const A* rstd;
  const T* weight;          // null: 1
  const ChannelGradSums<A>* sums;  // null in eval mode: the statistics are constants
  A inv_count;              // 1 / M
  TRIFECTA_HD Constants constants(int64_t c) const {
    const A scale = weight ? rstd[c] * convert<A>(weight[c]) : rstd[c];
    if (!sums) return {false, A(0), A(0), A(0), scale, A(0), A(0)};
    return {true, centre.shift(c), centre.offset[c], rstd[c], scale, sums[c].sum_g * inv_count,
            sums[c].sum_g_xhat * inv_count};
  }
  TRIFECTA_HD static A at(A g, A v, const Constants& k) {
    if (!k.batch_stats) return g * k.scale;
    const A xhat = ((v - k.shift) - k.offset) * k.rstd;
    return k.scale * (g - k.mean_g - xhat * k.mean_g_xhat);
  }
  TRIFECTA_HD void operator()(int64_t i) const {
    grad_x[i] = convert<T>(at(convert<A>(grad_y[i]), convert<A>(x[i]), constants(layout.channel_of(i))));
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
