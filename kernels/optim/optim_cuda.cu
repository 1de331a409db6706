// CUDA optimizer updates: one thread per element (grid-stride), each reading the parameter, the gradient and
// the state once and writing the parameter and the state back, with the same update functors as the CPU
// (optim_ops.h). Every element is touched by exactly one thread, so the result does not depend on the launch.
// Dense operands (the usual case) index directly; any other layout (a transposed parameter, an expanded
// gradient) decodes each index into per-operand offsets.
#include <array>

#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/kernel_signatures.h"
#include "kernels/optim/optim_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

template <class T, int N>
struct OperandPointers {
  T* p[N];
};

template <class T, int N, class F>
__global__ void optim_dense_kernel(int64_t n, F f, OperandPointers<T, N> base) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    T* at[N];
#pragma unroll
    for (int k = 0; k < N; ++k) at[k] = base.p[k] + i;
    update_element<T>(f, at, std::make_index_sequence<N - 2>{});
  }
}

template <class T, int N, class F>
__global__ void optim_strided_kernel(int64_t n, F f, detail::OffsetCalculator<N> calc, OperandPointers<T, N> base) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t offset[N];
    calc.offsets(i, offset);
    T* at[N];
#pragma unroll
    for (int k = 0; k < N; ++k) at[k] = base.p[k] + offset[k];
    update_element<T>(f, at, std::make_index_sequence<N - 2>{});
  }
}

struct CudaOptimLoop {
  template <class T, size_t S, class F>
  static void run(const char* op, const Tensor& param, const Tensor& grad, const std::array<Tensor, S>& state,
                  const F& f) {
    constexpr int N = 2 + static_cast<int>(S);
    constexpr int kBlock = 256;
    const std::array<const Tensor*, N> operands = update_operands(param, grad, state);
    const ElementwisePlan<N> plan = make_elementwise_plan<N>(operands);
    if (plan.numel == 0) return;
    OperandPointers<T, N> base;
    for (int k = 0; k < N; ++k) base.p[k] = static_cast<T*>(operands[k]->raw_data());
    bool dense = plan.ndim <= 1;
    for (int k = 0; k < N && dense && plan.ndim == 1; ++k) dense = plan.strides[k][0] == 1;
    if (dense) {
      optim_dense_kernel<T, N, F><<<gpu::grid_size(plan.numel, kBlock), kBlock, 0, gpu::stream()>>>(plan.numel, f, base);
    } else {
      detail::OffsetCalculator<N> calc{};
      calc.ndim = plan.ndim;
      for (int d = 0; d < plan.ndim; ++d) {
        calc.sizes[d] = plan.sizes[d];
        for (int k = 0; k < N; ++k) calc.strides[k][d] = plan.strides[k][d];
      }
      optim_strided_kernel<T, N, F><<<gpu::grid_size(plan.numel, kBlock), kBlock, 0, gpu::stream()>>>(plan.numel, f, calc, base);
    }
    TRIFECTA_CUDA_LAUNCH_CHECK(op);
  }
};

}  // namespace

TRIFECTA_REGISTER_KERNEL(sgd_step, CUDA, &OptimKernels<CudaOptimLoop>::sgd);
TRIFECTA_REGISTER_KERNEL(adam_step, CUDA, &OptimKernels<CudaOptimLoop>::adam);

}  // namespace trifecta
