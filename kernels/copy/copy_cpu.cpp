// CPU copy kernel: memcpy when both sides are dense and of one dtype, else the converting strided loop.
#include <cstring>

#include "kernels/common/elementwise_cpu.h"
#include "kernels/copy/copy_impl.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

void copy_cpu(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    if (dst.numel() > 0) std::memcpy(dst.raw_data(), src.raw_data(), dst.numel() * itemsize(dst.dtype()));
    return;
  }
  copy_kernel<CpuElementwise>(dst, src);
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(copy, CPU, &copy_cpu);

}  // namespace trifecta
