// CUDA fill kernels.
#include "kernels/common/elementwise_cuda.cuh"
#include "kernels/fill/fill_impl.h"
#include "kernels/registry.h"

namespace trifecta {
TRIFECTA_REGISTER_FILL_KERNELS(CudaElementwise, CUDA);
}  // namespace trifecta
