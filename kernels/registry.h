// The op table: OpId and names from kernels/ops.def, and the kernel registry that routes an op on a
// device to its kernel. Kernel files register themselves at load time with TRIFECTA_REGISTER_KERNEL, so
// adding a kernel touches only its own file; the coverage test (tests/ops/coverage_test.cpp) walks this
// table and fails when an op lacks what its kind demands (see ops.def).
#pragma once

#include <cstdint>
#include <typeinfo>

#include "tensor/device.h"
#include "tensor/error.h"

namespace trifecta {

enum class OpId : uint16_t {
#define TRIFECTA_OP(name, kind) name,
#include "kernels/ops.def"
#undef TRIFECTA_OP
};

enum class OpKind : uint8_t { Kernel, NoGrad, Backward, Composite };

constexpr int kNumOps = 0
#define TRIFECTA_OP(name, kind) +1
#include "kernels/ops.def"
#undef TRIFECTA_OP
    ;

const char* op_name(OpId op);
OpKind op_kind(OpId op);

namespace registry {

using AnyFn = void (*)();

void add_kernel(OpId op, DeviceType device, AnyFn fn, const std::type_info& signature);
AnyFn find_kernel(OpId op, DeviceType device, const std::type_info& signature);  // throws when missing
bool has_kernel(OpId op, DeviceType device);

}  // namespace registry

// The kernel of type Fn (a function type) for op on device, or an Error naming the op and device.
template <class Fn>
Fn* kernel_for(OpId op, Device device) {
  return reinterpret_cast<Fn*>(registry::find_kernel(op, device.type, typeid(Fn)));
}

struct KernelRegistrar {
  template <class Fn>
  KernelRegistrar(OpId op, DeviceType device, Fn* fn) {
    registry::add_kernel(op, device, reinterpret_cast<registry::AnyFn>(fn), typeid(Fn));
  }
};

}  // namespace trifecta

#define TRIFECTA_CONCAT_INNER(a, b) a##b
#define TRIFECTA_CONCAT(a, b) TRIFECTA_CONCAT_INNER(a, b)

// TRIFECTA_REGISTER_KERNEL(exp, CPU, &unary_cpu): fn's type is the kernel's signature; callers must ask
// for the same type, or kernel_for throws.
#define TRIFECTA_REGISTER_KERNEL(op, device, fn)                                                   \
  static const ::trifecta::KernelRegistrar TRIFECTA_CONCAT(trifecta_kernel_registrar_, __COUNTER__)( \
      ::trifecta::OpId::op, ::trifecta::DeviceType::device, fn)
