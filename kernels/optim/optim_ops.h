// Fused optimizer updates: each step reads a parameter, its gradient and its optimizer state once and
// writes the new parameter and state in the same pass (one kernel per parameter tensor), instead of the
// five or six elementwise kernels the formulas would take op by op. The update of one element is a
// __host__ __device__ functor shared by the CPU and CUDA loops, so both devices compute the same function.
//
// The formulas follow PyTorch's single-tensor implementations (torch/optim/sgd.py, adam.py, adamw.py)
// operation by operation, so float32 results agree with PyTorch to the rounding of each operation:
//
//   SGD (with momentum mu, dampening tau, weight decay lambda):
//     g <- g + lambda * theta
//     b <- g on the first step, else mu * b + (1 - tau) * g
//     g <- g + mu * b (Nesterov, Sutskever et al. 2013) or b
//     theta <- theta - lr * g
//
//   Adam (Kingma & Ba 2015), step t counted from 1:
//     g <- g + lambda * theta                               (Adam: L2 regularization through the gradient)
//     theta <- theta * (1 - lr * lambda)                    (AdamW: decoupled decay, Loshchilov & Hutter 2019)
//     m <- beta1 * m + (1 - beta1) * g
//     v <- beta2 * v + (1 - beta2) * g * g
//     v_max <- max(v_max, v)                                (AMSGrad, Reddi et al. 2018; the max of the raw v)
//     theta <- theta - lr / (1 - beta1^t) * m / (sqrt(u) / sqrt(1 - beta2^t) + eps),   u = v_max or v
//   eps is added after the bias correction of the square root, as PyTorch does (not inside the sqrt).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/common/math.h"
#include "tensor/dtype.h"
#include "tensor/tensor.h"

namespace trifecta {

// Hyperparameters of one SGD step, in double; the kernel rounds them to the compute type once.
struct SgdStepArgs {
  double lr = 0.0;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool first_step = true;  // the momentum buffer holds nothing yet: it becomes the gradient
};

// Hyperparameters of one Adam/AdamW step. step is this parameter's update count, this one included (>= 1).
struct AdamStepArgs {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  int64_t step = 1;
};

template <class C>
struct SgdUpdate {
  C neg_lr, weight_decay, momentum, one_minus_dampening;
  bool nesterov, first_step;

  static SgdUpdate from(const SgdStepArgs& a) {
    return {static_cast<C>(-a.lr), static_cast<C>(a.weight_decay), static_cast<C>(a.momentum),
            static_cast<C>(1.0 - a.dampening), a.nesterov, a.first_step};
  }
  TRIFECTA_HD C decayed(C theta, C g) const { return weight_decay != C(0) ? g + weight_decay * theta : g; }
  // Without momentum: no state.
  TRIFECTA_HD void operator()(C& theta, C g) const { theta = theta + neg_lr * decayed(theta, g); }
  TRIFECTA_HD void operator()(C& theta, C g, C& buffer) const {
    g = decayed(theta, g);
    buffer = first_step ? g : buffer * momentum + one_minus_dampening * g;
    theta = theta + neg_lr * (nesterov ? g + momentum * buffer : buffer);
  }
};

template <class C>
struct AdamUpdate {
  C weight_decay;           // Adam: added to the gradient as lambda * theta
  C decay_factor;           // AdamW: 1 - lr * lambda, multiplies theta
  bool decoupled;
  C beta1, one_minus_beta1, beta2, one_minus_beta2;
  C bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  C eps;
  C neg_step_size;          // -lr / (1 - beta1^t)

  static AdamUpdate from(const AdamStepArgs& a) {
    const double t = static_cast<double>(a.step);
    const double bias_correction1 = 1.0 - std::pow(a.beta1, t);
    const double bias_correction2 = 1.0 - std::pow(a.beta2, t);
    return {static_cast<C>(a.weight_decay),
            static_cast<C>(1.0 - a.lr * a.weight_decay),
            a.decoupled_weight_decay,
            static_cast<C>(a.beta1),
            static_cast<C>(1.0 - a.beta1),
            static_cast<C>(a.beta2),
            static_cast<C>(1.0 - a.beta2),
            static_cast<C>(std::sqrt(bias_correction2)),
            static_cast<C>(a.eps),
            static_cast<C>(-a.lr / bias_correction1)};
  }
  // Weight decay and the two moment estimates; returns nothing, updates theta (AdamW), m and v.
  TRIFECTA_HD void moments(C& theta, C g, C& m, C& v) const {
    if (decoupled) theta = theta * decay_factor;
    else if (weight_decay != C(0)) g = g + weight_decay * theta;
    m = m * beta1 + one_minus_beta1 * g;
    v = v * beta2 + one_minus_beta2 * g * g;
  }
  TRIFECTA_HD void apply(C& theta, C m, C u) const {
    theta = theta + neg_step_size * m / (math::sqrt(u) / bias_correction2_sqrt + eps);
  }
  TRIFECTA_HD void operator()(C& theta, C g, C& m, C& v) const {
    moments(theta, g, m, v);
    apply(theta, m, v);
  }
  // AMSGrad: the denominator uses the running maximum of v (NaN propagates, as torch.maximum's does).
  TRIFECTA_HD void operator()(C& theta, C g, C& m, C& v, C& v_max) const {
    moments(theta, g, m, v);
    v_max = math::nan_max(v_max, v);
    apply(theta, m, v_max);
  }
};

// One element of a fused update: loads the parameter (at[0]), the gradient (at[1]) and the state tensors
// (at[2...]) in the compute type, applies f, and stores the parameter and the state back.
template <class T, class F, size_t... K>
TRIFECTA_HD inline void update_element(const F& f, T* const* at, std::index_sequence<K...>) {
  using C = compute_t<T>;
  C theta = convert<C>(*at[0]);
  C state[sizeof...(K) + 1] = {convert<C>(*at[2 + K])..., C(0)};  // one spare slot: SGD without momentum has none
  f(theta, convert<C>(*at[1]), state[K]...);
  *at[0] = convert<T>(theta);
  ((*at[2 + K] = convert<T>(state[K])), ...);
}

// Kernel signatures. The parameter, gradient and state tensors share one shape, dtype and device; the
// parameter and the state are updated in place and must not overlap each other or themselves (the front
// end, optim/functional.h, checks). An undefined momentum buffer means momentum 0; an undefined
// max_exp_avg_sq means AMSGrad is off.
using SgdStepKernel = void(const SgdStepArgs& args, const Tensor& param, const Tensor& grad,
                           const Tensor& momentum_buffer);
using AdamStepKernel = void(const AdamStepArgs& args, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq);

// The operands of an update loop in order: parameter, gradient, state.
template <size_t S>
std::array<const Tensor*, 2 + S> update_operands(const Tensor& param, const Tensor& grad,
                                                 const std::array<Tensor, S>& state) {
  return [&]<size_t... K>(std::index_sequence<K...>) {
    return std::array<const Tensor*, 2 + S>{&param, &grad, &state[K]...};
  }(std::make_index_sequence<S>{});
}

// The kernel bodies, shared by both devices as templates over the update loop (optim_cpu.cpp, optim_cuda.cu):
// Loop::run<T, S>(op, param, grad, state, f) applies f to every element with S state tensors.
template <class Loop>
struct OptimKernels {
  static void sgd(const SgdStepArgs& args, const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer) {
    dispatch_dtype<DTypeSet::Floating>(param.dtype(), "sgd_step", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const auto f = SgdUpdate<compute_t<T>>::from(args);
      if (momentum_buffer.defined()) Loop::template run<T, 1>("sgd_step", param, grad, {momentum_buffer}, f);
      else Loop::template run<T, 0>("sgd_step", param, grad, {}, f);
    });
  }
  static void adam(const AdamStepArgs& args, const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                   const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq) {
    dispatch_dtype<DTypeSet::Floating>(param.dtype(), "adam_step", [&](auto tag) {
      using T = typename decltype(tag)::type;
      const auto f = AdamUpdate<compute_t<T>>::from(args);
      if (max_exp_avg_sq.defined()) Loop::template run<T, 3>("adam_step", param, grad, {exp_avg, exp_avg_sq, max_exp_avg_sq}, f);
      else Loop::template run<T, 2>("adam_step", param, grad, {exp_avg, exp_avg_sq}, f);
    });
  }
};

}  // namespace trifecta
