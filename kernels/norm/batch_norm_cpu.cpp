// CPU batch-norm kernels on the shared pieces of batch_norm_ops.h. The channel reductions take one of three
// walks, and the elementwise passes split the N * C planes of S elements across threads, each plane with its
// channel's constants (gathered once per channel beforehand) hoisted out of the loop; an [N, C] input goes
// row by row instead.
//
//   S >= kRunLength  a task owns a channel and folds its N runs of S contiguous elements with the fold's
//                    vectorized fold_run
//   smaller S        (small maps) a task owns a block of neighbouring channels and walks the N samples, each
//                    sample's block being one contiguous stretch of C * S elements, so memory is read in order
//                    instead of once per channel at stride C * S
//   S = 1            ([N, C], BatchNorm1d) as smaller S, but the block's channels fold side by side, one
//                    vector lane each (fold_columns)
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/norm/batch_norm_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

constexpr int64_t kRunLength = 32;
constexpr int64_t kChannelBlock = 64;

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

template <class T>
T* optional_data_mut(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// [N, C] inputs (S = 1): channel c is column c of an [N, C] matrix. A block of columns folds row by row into
// one lane per column, kept apart as plain arrays so the loop runs across channels in vector registers; the
// fields and shifts are those of the folds in batch_norm_ops.h.
template <class T>
void fold_columns(const BatchStatsFold<T, double>& fold, const ChannelLayout& layout, int64_t c0, int64_t width,
                  MomentSums<double>* states) {
  double shift[kChannelBlock], sum[kChannelBlock] = {}, sum_sq[kChannelBlock] = {};
  for (int64_t j = 0; j < width; ++j) shift[j] = fold.shift(c0 + j);
  for (int64_t n = 0; n < layout.batch; ++n) {
    const T* row = fold.x + n * layout.channels + c0;
    for (int64_t j = 0; j < width; ++j) {
      const double d = convert<double>(row[j]) - shift[j];
      sum[j] += d;
      sum_sq[j] += d * d;
    }
  }
  for (int64_t j = 0; j < width; ++j) states[j] = {sum[j], sum_sq[j]};
}

template <class T>
void fold_columns(const GradSumsFold<T>& fold, const ChannelLayout& layout, int64_t c0, int64_t width,
                  GradSums<compute_t<T>>* states) {
  using A = compute_t<T>;
  A shift[kChannelBlock], offset[kChannelBlock], sum_g[kChannelBlock] = {}, sum_g_dev[kChannelBlock] = {};
  for (int64_t j = 0; j < width; ++j) shift[j] = fold.centre.shift(c0 + j), offset[j] = fold.centre.offset[c0 + j];
  for (int64_t n = 0; n < layout.batch; ++n) {
    const int64_t first = n * layout.channels + c0;
    for (int64_t j = 0; j < width; ++j) {
      const A g = convert<A>(fold.grad_y[first + j]);
      sum_g[j] += g;
      sum_g_dev[j] += g * ((convert<A>(fold.x[first + j]) - shift[j]) - offset[j]);
    }
  }
  for (int64_t j = 0; j < width; ++j) states[j] = {sum_g[j], sum_g_dev[j]};
}

// finish(c, total) for every channel, total being the fold over the channel's elements (M > 0).
template <class Fold, class Finish>
void reduce_channels(const ChannelLayout& layout, const Fold& fold, const Finish& finish) {
  using State = typename Fold::State;
  const int64_t per_channel = layout.per_channel(), channels = layout.channels, spatial = layout.spatial;
  if (spatial >= kRunLength) {
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / per_channel);
    // Runs fold into blocks of about sqrt(N), which then merge: a channel's rounding error grows like
    // sqrt(N) + N / sqrt(N) additions instead of N (blocked summation, as the reduce kernel's columns).
    const int64_t runs_per_block =
        std::max<int64_t>(1, static_cast<int64_t>(std::sqrt(static_cast<double>(layout.batch))));
    parallel_for(0, channels, grain, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        State total = fold.init(c), block = fold.init(c);
        for (int64_t n = 0; n < layout.batch; ++n) {
          block = fold.fold_run(block, (n * channels + c) * spatial, spatial, c);
          if ((n + 1) % runs_per_block == 0) total = Fold::combine(total, block), block = fold.init(c);
        }
        finish(c, Fold::combine(total, block));
      }
    });
    return;
  }
  const int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / (per_channel * kChannelBlock));
  parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    State states[kChannelBlock];
    for (int64_t block = begin; block < end; ++block) {
      const int64_t c0 = block * kChannelBlock, width = std::min(kChannelBlock, channels - c0);
      if (spatial == 1) {
        fold_columns(fold, layout, c0, width, states);
        for (int64_t j = 0; j < width; ++j) finish(c0 + j, states[j]);
        continue;
      }
      for (int64_t j = 0; j < width; ++j) states[j] = fold.init(c0 + j);
      for (int64_t n = 0; n < layout.batch; ++n) {
        const int64_t first = (n * channels + c0) * spatial;
        for (int64_t j = 0; j < width; ++j)
          for (int64_t i = 0; i < spatial; ++i) states[j] = fold.fold(states[j], first + j * spatial + i, c0 + j);
      }
      for (int64_t j = 0; j < width; ++j) finish(c0 + j, states[j]);
    }
  });
}

// element(i, k) for every element i of x, k being its channel's constants from pass (gathered once per
// channel). Planes of S elements are split across threads, each plane's constants hoisted out of its loop;
// an [N, C] input, whose planes are single elements, goes row by row instead.
template <class Pass, class Element>
void for_each_element(const ChannelLayout& layout, const Pass& pass, const Element& element) {
  using Constants = typename Pass::Constants;
  const int64_t channels = layout.channels, spatial = layout.spatial;
  std::vector<Constants> constants(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) constants[static_cast<size_t>(c)] = pass.constants(c);
  const Constants* k = constants.data();
  if (spatial == 1) {
    parallel_for(0, layout.batch, std::max<int64_t>(1, kElementwiseGrain / channels), [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n)
        for (int64_t c = 0; c < channels; ++c) element(n * channels + c, k[c]);
    });
    return;
  }
  const int64_t planes = layout.batch * channels;
  parallel_for(0, planes, std::max<int64_t>(1, kElementwiseGrain / spatial), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const Constants plane_k = k[plane % channels];
      for (int64_t i = plane * spatial; i < (plane + 1) * spatial; ++i) element(i, plane_k);
    }
  });
}

// The [N, C] input gradient: the row walk of for_each_element, but with a block of channels' constants kept
// field by field, so the loop across channels vectorizes (an array of Constants would need a gather for each
// field, and its batch_stats flag a branch per element; here the flag is one value for the whole loop).
template <class T>
void input_grad_columns(const ChannelLayout& layout, const BatchNormInputGrad<T>& pass) {
  using A = compute_t<T>;
  using Constants = typename BatchNormInputGrad<T>::Constants;
  const int64_t channels = layout.channels, blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  const bool batch_stats = pass.sums != nullptr;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / (layout.batch * kChannelBlock));
  parallel_for(0, blocks, grain, [&](int64_t begin, int64_t end) {
    A shift[kChannelBlock], offset[kChannelBlock], rstd[kChannelBlock], scale[kChannelBlock];
    A mean_g[kChannelBlock], mean_g_xhat[kChannelBlock];
    for (int64_t block = begin; block < end; ++block) {
      const int64_t c0 = block * kChannelBlock, width = std::min(kChannelBlock, channels - c0);
      for (int64_t j = 0; j < width; ++j) {
        const Constants k = pass.constants(c0 + j);
        shift[j] = k.shift, offset[j] = k.offset, rstd[j] = k.rstd, scale[j] = k.scale;
        mean_g[j] = k.mean_g, mean_g_xhat[j] = k.mean_g_xhat;
      }
      for (int64_t n = 0; n < layout.batch; ++n) {
        const int64_t first = n * channels + c0;
        for (int64_t j = 0; j < width; ++j) {
          const Constants k{batch_stats, shift[j], offset[j], rstd[j], scale[j], mean_g[j], mean_g_xhat[j]};
          pass.grad_x[first + j] = convert<T>(BatchNormInputGrad<T>::at(convert<A>(pass.grad_y[first + j]),
                                                                        convert<A>(pass.x[first + j]), k));
        }
      }
    }
  });
}

void batch_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum, double eps, const Tensor& y,
                    const Tensor& save_offset, const Tensor& save_rstd) {
  const ChannelLayout layout = channel_layout(x.shape());
  if (layout.per_channel() == 0) return;  // nothing to normalize; the running statistics stay as they are
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* xs = static_cast<const T*>(x.raw_data());
    A* const offset = static_cast<A*>(save_offset.raw_data());
    A* const rstd = static_cast<A*>(save_rstd.raw_data());
    dispatch_running_dtype<T>(running_mean, [&](auto running_tag) {
      using R = typename decltype(running_tag)::type;
      if (training) {
        const BatchStatsFold<T, double> fold{xs, layout.spatial};
        const BatchStatsFinish<T, R, double> finish{fold,
                                            layout.per_channel(),
                                            static_cast<A>(eps),
                                            static_cast<A>(momentum),
                                            offset,
                                            rstd,
                                            optional_data_mut<R>(running_mean),
                                            optional_data_mut<R>(running_var)};
        reduce_channels(layout, fold, finish);
      } else {
        const EvalStats<T, R> stats{optional_data<R>(running_mean), optional_data<R>(running_var), static_cast<A>(eps),
                                    offset, rstd};
        for (int64_t c = 0; c < layout.channels; ++c) stats(c);
      }
    });
    using Apply = BatchNormApply<T>;
    const Apply apply{layout,
                      xs,
                      static_cast<T*>(y.raw_data()),
                      ChannelCentre<T>{training ? xs : nullptr, layout.spatial, offset},
                      rstd,
                      optional_data<T>(weight),
                      optional_data<T>(bias)};
    T* const ys = apply.y;
    for_each_element(layout, apply, [xs, ys](int64_t i, const typename Apply::Constants& k) {
      ys[i] = convert<T>(Apply::at(convert<A>(xs[i]), k));
    });
  });
}

void batch_norm_backward_cpu(const Tensor& grad_y, const Tensor& x, const Tensor& save_offset, const Tensor& save_rstd,
                             const Tensor& weight, bool training, const Tensor& grad_x, const Tensor& grad_weight,
                             const Tensor& grad_bias) {
  const ChannelLayout layout = channel_layout(x.shape());
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    if (layout.per_channel() == 0) {  // sums over no elements
      for (const Tensor* t : {&grad_weight, &grad_bias})
        if (t->defined()) std::fill_n(static_cast<T*>(t->raw_data()), layout.channels, convert<T>(0.0f));
      return;
    }
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* xs = static_cast<const T*>(x.raw_data());
    const A* rstd = static_cast<const A*>(save_rstd.raw_data());
    const ChannelCentre<T> centre{training ? xs : nullptr, layout.spatial,
                                  static_cast<const A*>(save_offset.raw_data())};
    const bool input_grad_needs_sums = training && grad_x.defined();
    std::vector<ChannelGradSums<A>> sums;
    if (input_grad_needs_sums || grad_weight.defined() || grad_bias.defined()) {
      sums.resize(static_cast<size_t>(layout.channels));
      reduce_channels(layout, GradSumsFold<T>{g, xs, centre},
                      GradSumsFinish<T>{rstd, sums.data(), optional_data_mut<T>(grad_weight),
                                        optional_data_mut<T>(grad_bias)});
    }
    if (!grad_x.defined()) return;
    using InputGrad = BatchNormInputGrad<T>;
    const InputGrad pass{layout,
                         g,
                         xs,
                         static_cast<T*>(grad_x.raw_data()),
                         centre,
                         rstd,
                         optional_data<T>(weight),
                         input_grad_needs_sums ? sums.data() : nullptr,
                         A(1) / static_cast<A>(layout.per_channel())};
    if (layout.spatial == 1) return input_grad_columns(layout, pass);
    T* const gx = pass.grad_x;
    for_each_element(layout, pass, [g, xs, gx](int64_t i, const typename InputGrad::Constants& k) {
      gx[i] = convert<T>(InputGrad::at(convert<A>(g[i]), convert<A>(xs[i]), k));
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(batch_norm, CPU, &batch_norm_cpu);
TRIFECTA_REGISTER_KERNEL(batch_norm_backward, CPU, &batch_norm_backward_cpu);

}  // namespace trifecta
