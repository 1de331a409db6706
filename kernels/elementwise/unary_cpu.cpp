// CPU unary kernels: every op of TRIFECTA_UNARY_OPS on the CPU elementwise loop.
#include "kernels/common/elementwise_cpu.h"
#include "kernels/elementwise/unary_impl.h"
#include "kernels/registry.h"

namespace trifecta {
#define TRIFECTA_UNARY_DEVICE CPU
#define TRIFECTA_UNARY_LOOP CpuElementwise
TRIFECTA_REGISTER_UNARY_KERNELS();
}  // namespace trifecta
