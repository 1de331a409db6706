// CPU pooling: the planes (n, c) split across threads; the per-pixel math is pool_impl.h's.
#include <algorithm>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/pool/pool_impl.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Planes per task: enough that a task does about kElementwiseGrain window taps.
int64_t plane_grain(int64_t pixels, const PoolGeometry& g) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, pixels * g.kernel_h * g.kernel_w));
}

void max_pool2d_cpu(const PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = static_cast<const T*>(x.raw_data());
    T* yd = static_cast<T*>(y.raw_data());
    int64_t* id = static_cast<int64_t*>(indices.raw_data());
    parallel_for(0, g.planes, plane_grain(g.out_pixels(), g), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* in = xd + plane * g.in_pixels();
        const int64_t base = plane * g.out_pixels();
        for (int64_t i = 0; i < g.out_h; ++i) {
          for (int64_t j = 0; j < g.out_w; ++j) {
            const auto best = pool::max_window(g, in, i, j);
            yd[base + i * g.out_w + j] = convert<T>(best.value);
            id[base + i * g.out_w + j] = best.index;
          }
        }
      }
    });
  });
}

void max_pool2d_backward_cpu(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices, const Tensor& grad_x) {
  dispatch_dtype<DTypeSet::Floating>(grad_y.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* gy = static_cast<const T*>(grad_y.raw_data());
    const int64_t* id = static_cast<const int64_t*>(indices.raw_data());
    T* gx = static_cast<T*>(grad_x.raw_data());
    parallel_for(0, g.planes, plane_grain(g.in_pixels(), g), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t out_base = plane * g.out_pixels();
        T* dst = gx + plane * g.in_pixels();
        for (int64_t h = 0; h < g.in_h; ++h)
          for (int64_t w = 0; w < g.in_w; ++w)
            dst[h * g.in_w + w] = convert<T>(pool::max_grad_at(g, gy + out_base, id + out_base, h, w));
      }
    });
  });
}

void avg_pool2d_cpu(const PoolGeometry& g, bool count_include_pad, const Tensor& x, const Tensor& y) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* xd = static_cast<const T*>(x.raw_data());
    T* yd = static_cast<T*>(y.raw_data());
    parallel_for(0, g.planes, plane_grain(g.out_pixels(), g), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* in = xd + plane * g.in_pixels();
        T* out = yd + plane * g.out_pixels();
        for (int64_t i = 0; i < g.out_h; ++i)
          for (int64_t j = 0; j < g.out_w; ++j)
            out[i * g.out_w + j] = convert<T>(pool::avg_window(g, in, i, j, count_include_pad));
      }
    });
  });
}

void avg_pool2d_backward_cpu(const PoolGeometry& g, bool count_include_pad, const Tensor& grad_y, const Tensor& grad_x) {
  dispatch_dtype<DTypeSet::Floating>(grad_y.dtype(), "avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* gy = static_cast<const T*>(grad_y.raw_data());
    T* gx = static_cast<T*>(grad_x.raw_data());
    parallel_for(0, g.planes, plane_grain(g.in_pixels(), g), [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const T* src = gy + plane * g.out_pixels();
        T* dst = gx + plane * g.in_pixels();
        for (int64_t h = 0; h < g.in_h; ++h)
          for (int64_t w = 0; w < g.in_w; ++w)
            dst[h * g.in_w + w] = convert<T>(pool::avg_grad_at(g, src, h, w, count_include_pad));
      }
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(max_pool2d, CPU, &max_pool2d_cpu);
TRIFECTA_REGISTER_KERNEL(max_pool2d_backward, CPU, &max_pool2d_backward_cpu);
TRIFECTA_REGISTER_KERNEL(avg_pool2d, CPU, &avg_pool2d_cpu);
TRIFECTA_REGISTER_KERNEL(avg_pool2d_backward, CPU, &avg_pool2d_backward_cpu);

}  // namespace trifecta
