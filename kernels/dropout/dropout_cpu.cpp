// CPU dropout kernels: the forward and, as the same function of the gradient, the backward (see dropout.h).
#include "kernels/common/elementwise_cpu.h"
#include "kernels/dropout/dropout.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
TRIFECTA_REGISTER_KERNEL(dropout, CPU, &dropout_kernel<CpuElementwise>);
TRIFECTA_REGISTER_KERNEL(dropout_backward, CPU, &dropout_kernel<CpuElementwise>);
}  // namespace trifecta
