// CUDA binary, comparison and where kernels.
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/elementwise/binary_impl.h"
#include "kernels/registry.h"

namespace trifecta {
#define TRIFECTA_BINARY_DEVICE CUDA
#define TRIFECTA_BINARY_LOOP CudaElementwise
TRIFECTA_REGISTER_BINARY_KERNELS();
}  // namespace trifecta
