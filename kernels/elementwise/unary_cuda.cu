// CUDA unary kernels: every op of TRIFECTA_UNARY_OPS on the CUDA elementwise loop.
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/elementwise/unary_impl.h"
#include "kernels/registry.h"

namespace trifecta {
#define TRIFECTA_UNARY_DEVICE CUDA
#define TRIFECTA_UNARY_LOOP CudaElementwise
TRIFECTA_REGISTER_UNARY_KERNELS();
}  // namespace trifecta
