// CPU batch-norm kernels on the shared pieces of batch_norm_ops.h: each channel's reduction runs on one
// thread, walking its N runs of S contiguous elements in order; the elementwise passes split the N * C
// planes of S elements across threads.
#include <algorithm>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/norm/batch_norm_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

template <class T>
const T* optional_data(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

template <class T>
T* optional_data_mut(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

// finish(c, total) for every channel, total being the fold over the channel's elements.
template <class Fold, class Finish>
void reduce_channels(const ChannelLayout& layout, const Fold& fold, const Finish& finish) {
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, layout.per_channel()));
  parallel_for(0, layout.channels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      typename Fold::State s = Fold::init();
      for (int64_t n = 0; n < layout.batch; ++n) {
        const int64_t base = (n * layout.channels + c) * layout.spatial;
        for (int64_t i = 0; i < layout.spatial; ++i) s = fold.fold(s, base + i, c);
      }
      finish(c, s);
    }
  });
}

template <class F>
void for_each_element(const ChannelLayout& layout, const F& f) {
  const int64_t planes = layout.batch * layout.channels;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, layout.spatial));
  parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin * layout.spatial; i < end * layout.spatial; ++i) f(i);
  });
}

void batch_norm_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                    const Tensor& running_var, bool training, double momentum, double eps, const Tensor& y,
                    const Tensor& save_mean, const Tensor& save_rstd) {
  const ChannelLayout layout = channel_layout(x.shape());
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    A* const mean = static_cast<A*>(save_mean.raw_data());
    A* const rstd = static_cast<A*>(save_rstd.raw_data());
    dispatch_running_dtype<T>(running_mean, [&](auto running_tag) {
      using R = typename decltype(running_tag)::type;
      if (training) {
        const BatchStatsFinish<T, R> finish{static_cast<A>(eps),
                                            static_cast<A>(momentum),
                                            mean,
                                            rstd,
                                            optional_data_mut<R>(running_mean),
                                            optional_data_mut<R>(running_var)};
        reduce_channels(layout, BatchStatsFold<T>{static_cast<const T*>(x.raw_data())}, finish);
      } else {
        const EvalStats<T, R> stats{optional_data<R>(running_mean), optional_data<R>(running_var), static_cast<A>(eps),
                                    mean, rstd};
        for (int64_t c = 0; c < layout.channels; ++c) stats(c);
      }
    });
    for_each_element(layout,
                     BatchNormApply<T>{layout, static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()), mean,
                                       rstd, optional_data<T>(weight), optional_data<T>(bias)});
  });
}

void batch_norm_backward_cpu(const Tensor& grad_y, const Tensor& x, const Tensor& save_mean, const Tensor& save_rstd,
                             const Tensor& weight, bool training, const Tensor& grad_x, const Tensor& grad_weight,
                             const Tensor& grad_bias) {
  const ChannelLayout layout = channel_layout(x.shape());
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* xs = static_cast<const T*>(x.raw_data());
    const A* mean = static_cast<const A*>(save_mean.raw_data());
    const A* rstd = static_cast<const A*>(save_rstd.raw_data());
    const bool input_grad_needs_sums = training && grad_x.defined();
    std::vector<GradSums<A>> sums;
    if (input_grad_needs_sums || grad_weight.defined() || grad_bias.defined()) {
      sums.resize(static_cast<size_t>(layout.channels));
      reduce_channels(
          layout, GradSumsFold<T>{g, xs, mean, rstd},
          GradSumsFinish<T>{sums.data(), optional_data_mut<T>(grad_weight), optional_data_mut<T>(grad_bias)});
    }
    if (grad_x.defined())
      for_each_element(layout,
                       BatchNormInputGrad<T>{layout, g, xs, static_cast<T*>(grad_x.raw_data()), mean, rstd,
                                             optional_data<T>(weight), input_grad_needs_sums ? sums.data() : nullptr,
                                             A(1) / static_cast<A>(layout.per_channel())});
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(batch_norm, CPU, &batch_norm_cpu);
TRIFECTA_REGISTER_KERNEL(batch_norm_backward, CPU, &batch_norm_backward_cpu);

}  // namespace trifecta
