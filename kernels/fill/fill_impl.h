// Fill kernel bodies, shared by both devices as templates over the elementwise loop.
#pragma once

#include "kernels/fill/fill.h"
#include "kernels/fill/philox.h"
#include "kernels/kernel_signatures.h"

namespace trifecta {

template <class T>
struct ConstantFunctor {
  T value;
  TRIFECTA_HD T operator()() const { return value; }
};

template <class T>
struct ArangeFunctor {
  double start, step;
  TRIFECTA_HD T operator()(int64_t i) const { return convert<T>(start + step * static_cast<double>(i)); }
};

template <class T>
struct UniformFunctor {
  uint64_t seed, offset;
  double low, high;
  TRIFECTA_HD compute_t<T> operator()(int64_t i) const {
    const double u = philox_uniform(philox_element(seed, offset, static_cast<uint64_t>(i)));
    const T value = convert<T>(low + (high - low) * u);
    // Rounding to a narrow type can land on high itself; keep the interval half-open.
    return convert<compute_t<T>>(convert<double>(value) >= high ? convert<T>(low) : value);
  }
};

template <class T>
struct NormalFunctor {
  uint64_t seed, offset;
  double mean, std;
  TRIFECTA_HD compute_t<T> operator()(int64_t i) const {
    return convert<compute_t<T>>(mean + std * philox_normal(philox_element(seed, offset, static_cast<uint64_t>(i))));
  }
};

template <class T, class P>
struct BernoulliFunctor {
  uint64_t seed, offset;
  const P* probs;
  TRIFECTA_HD compute_t<T> operator()(int64_t i) const {
    const double u = philox_uniform(philox_element(seed, offset, static_cast<uint64_t>(i)));
    return u < convert<double>(probs[i]) ? compute_t<T>(1) : compute_t<T>(0);
  }
};

template <class Loop>
struct FillKernels {
  static void fill(const Tensor& out, double value) {
    dispatch_dtype<DTypeSet::All>(out.dtype(), "fill", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Loop::template run<T>("fill", out, ConstantFunctor<compute_t<T>>{convert<compute_t<T>>(value)});
    });
  }
  static void arange(const Tensor& out, double start, double step) {
    dispatch_dtype<DTypeSet::Numeric>(out.dtype(), "arange", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Loop::template generate<T>("arange", out, ArangeFunctor<compute_t<T>>{start, step});
    });
  }
  static void uniform(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high) {
    dispatch_dtype<DTypeSet::Floating>(out.dtype(), "uniform", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Loop::template generate<T>("uniform", out, UniformFunctor<T>{seed, offset, low, high});
    });
  }
  static void normal(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double std) {
    dispatch_dtype<DTypeSet::Floating>(out.dtype(), "normal", [&](auto tag) {
      using T = typename decltype(tag)::type;
      Loop::template generate<T>("normal", out, NormalFunctor<T>{seed, offset, mean, std});
    });
  }
  static void bernoulli(const Tensor& out, const Tensor& probs, uint64_t seed, uint64_t offset) {
    dispatch_dtype<DTypeSet::All>(out.dtype(), "bernoulli", [&](auto tag) {
      using T = typename decltype(tag)::type;
      dispatch_dtype<DTypeSet::Floating>(probs.dtype(), "bernoulli", [&](auto ptag) {
        using P = typename decltype(ptag)::type;
        Loop::template generate<T>("bernoulli", out,
                                   BernoulliFunctor<T, P>{seed, offset, static_cast<const P*>(probs.raw_data())});
      });
    });
  }
};

}  // namespace trifecta

// Registers the fill kernels of one device; used once by each device's file.
#define TRIFECTA_REGISTER_FILL_KERNELS(Loop, device)                         \
  TRIFECTA_REGISTER_KERNEL(fill, device, &FillKernels<Loop>::fill);           \
  TRIFECTA_REGISTER_KERNEL(arange, device, &FillKernels<Loop>::arange);       \
  TRIFECTA_REGISTER_KERNEL(uniform, device, &FillKernels<Loop>::uniform);     \
  TRIFECTA_REGISTER_KERNEL(normal, device, &FillKernels<Loop>::normal);       \
  TRIFECTA_REGISTER_KERNEL(bernoulli, device, &FillKernels<Loop>::bernoulli)
