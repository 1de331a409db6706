// The pooling math, written once for both devices: each function computes one output (forward) or one
// input pixel's gradient (backward) of one plane, and pool_cpu.cpp / pool_cuda.cu only decide who runs
// which pixel. The backward functions gather: an input pixel visits the windows that contain it and sums
// what they send it, so every gradient is written by exactly one thread, in a fixed order, without atomics
// (the results are the same run to run, and the same on both devices up to rounding).
#pragma once

#include <limits>

#include "kernels/common/math.h"
#include "kernels/pool/pool.h"

namespace trifecta::pool {

template <class A>
struct MaxResult {
  A value;
  int64_t index;  // flat h * in_w + w in the plane; -1 when the window holds no real pixel (value -inf)
};

// The first maximum of window (i, j) in tap order, as PyTorch; a NaN wins over any number.
template <class T>
TRIFECTA_HD inline MaxResult<compute_t<T>> max_window(const PoolGeometry& g, const T* plane, int64_t i, int64_t j) {
  using A = compute_t<T>;
  MaxResult<A> best{-std::numeric_limits<A>::infinity(), -1};
  for (int64_t p = 0; p < g.kernel_h; ++p) {
    const int64_t h = i * g.stride_h - g.pad_h + p * g.dilation_h;
    if (h < 0 || h >= g.in_h) continue;
    for (int64_t q = 0; q < g.kernel_w; ++q) {
      const int64_t w = j * g.stride_w - g.pad_w + q * g.dilation_w;
      if (w < 0 || w >= g.in_w) continue;
      const A v = convert<A>(plane[h * g.in_w + w]);
      if (best.index < 0 || v > best.value || math::isnan(v)) best = {v, h * g.in_w + w};
    }
  }
  return best;
}

// Calls f(i, j) for every window that contains input pixel (h, w): tap p of window i sits at h when
// i*stride - pad + p*dilation = h, so each tap names at most one window.
template <class F>
TRIFECTA_HD inline void for_each_window_containing(const PoolGeometry& g, int64_t h, int64_t w, F&& f) {
  for (int64_t p = 0; p < g.kernel_h; ++p) {
    const int64_t th = h + g.pad_h - p * g.dilation_h;
    if (th < 0) break;  // later taps only move further left of window 0
    if (th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
    for (int64_t q = 0; q < g.kernel_w; ++q) {
      const int64_t tw = w + g.pad_w - q * g.dilation_w;
      if (tw < 0) break;
      if (tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
      f(th / g.stride_h, tw / g.stride_w);
    }
  }
}

// d max / d x[h, w]: the gradients of the windows whose maximum x[h, w] is.
template <class T>
TRIFECTA_HD inline compute_t<T> max_grad_at(const PoolGeometry& g, const T* grad_plane, const int64_t* index_plane,
                                            int64_t h, int64_t w) {
  using A = compute_t<T>;
  const int64_t self = h * g.in_w + w;
  A sum = A(0);
  for_each_window_containing(g, h, w, [&](int64_t i, int64_t j) {
    const int64_t o = i * g.out_w + j;
    if (index_plane[o] == self) sum += convert<A>(grad_plane[o]);
  });
  return sum;
}

// The divisor of average window (i, j). Windows never reach past the padding (no ceil mode), so with
// count_include_pad it is the full kernel area.
TRIFECTA_HD inline int64_t avg_divisor(const PoolGeometry& g, int64_t i, int64_t j, bool count_include_pad) {
  if (count_include_pad) return g.kernel_h * g.kernel_w;
  const int64_t h0 = i * g.stride_h - g.pad_h, w0 = j * g.stride_w - g.pad_w;
  const int64_t rows = math::min(h0 + g.kernel_h, g.in_h) - math::max(h0, int64_t{0});
  const int64_t cols = math::min(w0 + g.kernel_w, g.in_w) - math::max(w0, int64_t{0});
  return rows * cols;
}

template <class T>
TRIFECTA_HD inline compute_t<T> avg_window(const PoolGeometry& g, const T* plane, int64_t i, int64_t j,
                                           bool count_include_pad) {
  using A = compute_t<T>;
  const int64_t h0 = i * g.stride_h - g.pad_h, w0 = j * g.stride_w - g.pad_w;
  const int64_t h_begin = math::max(h0, int64_t{0}), h_end = math::min(h0 + g.kernel_h, g.in_h);
  const int64_t w_begin = math::max(w0, int64_t{0}), w_end = math::min(w0 + g.kernel_w, g.in_w);
  A sum = A(0);
  for (int64_t h = h_begin; h < h_end; ++h)
    for (int64_t w = w_begin; w < w_end; ++w) sum += convert<A>(plane[h * g.in_w + w]);
  return sum / static_cast<A>(avg_divisor(g, i, j, count_include_pad));
}

// d avg / d x[h, w]: each window containing x[h, w] sends its gradient over its divisor.
template <class T>
TRIFECTA_HD inline compute_t<T> avg_grad_at(const PoolGeometry& g, const T* grad_plane, int64_t h, int64_t w,
                                            bool count_include_pad) {
  using A = compute_t<T>;
  A sum = A(0);
  for_each_window_containing(g, h, w, [&](int64_t i, int64_t j) {
    sum += convert<A>(grad_plane[i * g.out_w + j]) / static_cast<A>(avg_divisor(g, i, j, count_include_pad));
  });
  return sum;
}

}  // namespace trifecta::pool
