// CUDA dropout kernels: the forward and, as the same function of the gradient, the backward (see dropout.h).
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/dropout/dropout.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
TRIFECTA_REGISTER_KERNEL(dropout, CUDA, &dropout_kernel<CudaElementwise>);
TRIFECTA_REGISTER_KERNEL(dropout_backward, CUDA, &dropout_kernel<CudaElementwise>);
}  // namespace trifecta
