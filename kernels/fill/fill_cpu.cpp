// CPU fill kernels.
#include "kernels/common/elementwise_cpu.h"
#include "kernels/fill/fill_impl.h"
#include "kernels/registry.h"

namespace trifecta {
TRIFECTA_REGISTER_FILL_KERNELS(CpuElementwise, CPU);
}  // namespace trifecta
