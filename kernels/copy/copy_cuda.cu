// CUDA copy kernel: cudaMemcpyAsync when both sides are dense and of one dtype, else the converting
// strided loop.
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/copy/copy_impl.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

void copy_cuda(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    TRIFECTA_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), dst.numel() * itemsize(dst.dtype()),
                                        cudaMemcpyDeviceToDevice, gpu::stream()),
                        "copy");
    return;
  }
  copy_kernel<CudaElementwise>(dst, src);
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(copy, CUDA, &copy_cuda);

}  // namespace trifecta
