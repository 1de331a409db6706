// CUDA pooling: one thread per output pixel forward and one per input pixel backward (a gather, see
// pool_impl.h: no atomics, deterministic), with pool_impl.h's math. Neighbouring threads own neighbouring
// pixels of a row, so their loads and stores coalesce.
#include "kernels/kernel_signatures.h"
#include "kernels/pool/pool_impl.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

namespace trifecta {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void max_pool_kernel(PoolGeometry g, const T* x, T* y, int64_t* indices) {
  const int64_t total = g.planes * g.out_pixels(), step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t plane = index / g.out_pixels(), pixel = index % g.out_pixels();
    const auto best = pool::max_window(g, x + plane * g.in_pixels(), pixel / g.out_w, pixel % g.out_w);
    y[index] = convert<T>(best.value);
    indices[index] = best.index;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(PoolGeometry g, const T* grad_y, const int64_t* indices, T* grad_x) {
  const int64_t total = g.planes * g.in_pixels(), step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t plane = index / g.in_pixels(), pixel = index % g.in_pixels();
    const int64_t out_base = plane * g.out_pixels();
    grad_x[index] = convert<T>(pool::max_grad_at(g, grad_y + out_base, indices + out_base, pixel / g.in_w, pixel % g.in_w));
  }
}

template <class T>
__global__ void avg_pool_kernel(PoolGeometry g, bool count_include_pad, const T* x, T* y) {
  const int64_t total = g.planes * g.out_pixels(), step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t plane = index / g.out_pixels(), pixel = index % g.out_pixels();
    y[index] = convert<T>(pool::avg_window(g, x + plane * g.in_pixels(), pixel / g.out_w, pixel % g.out_w, count_include_pad));
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(PoolGeometry g, bool count_include_pad, const T* grad_y, T* grad_x) {
  const int64_t total = g.planes * g.in_pixels(), step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t plane = index / g.in_pixels(), pixel = index % g.in_pixels();
    grad_x[index] = convert<T>(
        pool::avg_grad_at(g, grad_y + plane * g.out_pixels(), pixel / g.in_w, pixel % g.in_w, count_include_pad));
  }
}

void max_pool2d_cuda(const PoolGeometry& g, const Tensor& x, const Tensor& y, const Tensor& indices) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_kernel<T><<<gpu::grid_size(g.planes * g.out_pixels(), kBlock), kBlock, 0, gpu::stream()>>>(
        g, static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()), static_cast<int64_t*>(indices.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK("max_pool2d");
  });
}

void max_pool2d_backward_cuda(const PoolGeometry& g, const Tensor& grad_y, const Tensor& indices, const Tensor& grad_x) {
  dispatch_dtype<DTypeSet::Floating>(grad_y.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    max_pool_backward_kernel<T><<<gpu::grid_size(g.planes * g.in_pixels(), kBlock), kBlock, 0, gpu::stream()>>>(
        g, static_cast<const T*>(grad_y.raw_data()), static_cast<const int64_t*>(indices.raw_data()),
        static_cast<T*>(grad_x.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK("max_pool2d_backward");
  });
}

void avg_pool2d_cuda(const PoolGeometry& g, bool count_include_pad, const Tensor& x, const Tensor& y) {
  dispatch_dtype<DTypeSet::Floating>(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_kernel<T><<<gpu::grid_size(g.planes * g.out_pixels(), kBlock), kBlock, 0, gpu::stream()>>>(
        g, count_include_pad, static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK("avg_pool2d");
  });
}

void avg_pool2d_backward_cuda(const PoolGeometry& g, bool count_include_pad, const Tensor& grad_y, const Tensor& grad_x) {
  dispatch_dtype<DTypeSet::Floating>(grad_y.dtype(), "avg_pool2d_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    avg_pool_backward_kernel<T><<<gpu::grid_size(g.planes * g.in_pixels(), kBlock), kBlock, 0, gpu::stream()>>>(
        g, count_include_pad, static_cast<const T*>(grad_y.raw_data()), static_cast<T*>(grad_x.raw_data()));
    TRIFECTA_CUDA_LAUNCH_CHECK("avg_pool2d_backward");
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(max_pool2d, CUDA, &max_pool2d_cuda);
TRIFECTA_REGISTER_KERNEL(max_pool2d_backward, CUDA, &max_pool2d_backward_cuda);
TRIFECTA_REGISTER_KERNEL(avg_pool2d, CUDA, &avg_pool2d_cuda);
TRIFECTA_REGISTER_KERNEL(avg_pool2d_backward, CUDA, &avg_pool2d_backward_cuda);

}  // namespace trifecta
