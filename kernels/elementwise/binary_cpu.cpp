// CPU binary, comparison and where kernels.
#include "kernels/common/elementwise_cpu.h"
#include "kernels/elementwise/binary_impl.h"
#include "kernels/registry.h"

namespace trifecta {
#define TRIFECTA_BINARY_DEVICE CPU
#define TRIFECTA_BINARY_LOOP CpuElementwise
TRIFECTA_REGISTER_BINARY_KERNELS();
}  // namespace trifecta
