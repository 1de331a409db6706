// The op table: OpId and names from kernels/ops.def, and the kernel registry that routes an op on a
// device to its kernel. Kernel files register themselves at load time with TRIFECTA_REGISTER_KERNEL, so
// adding a kernel touches only its own file; the coverage test (tests/ops/coverage_test.cpp) walks this
// table and fails when an op lacks what its kind demands (see ops.def). The registry also counts each op's
// kernel lookups per device, so the coverage test can tell which kernels a test run reached.
#pragma once

#include <cstdint>
#include <type_traits>
#include <typeinfo>

#include "tensor/device.h"
#include "tensor/error.h"

namespace trifecta {

enum class OpId : uint16_t {
#define TRIFECTA_OP(name, kind, signature) name,
#include "kernels/ops.def"
#undef TRIFECTA_OP
};

enum class OpKind : uint8_t { Kernel, NoGrad, Backward, Composite };

constexpr int kNumOps = 0
#define TRIFECTA_OP(name, kind, signature) +1
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
// How many times op's kernel on device was looked up (each lookup precedes a call) since the program began.
uint64_t lookups(OpId op, DeviceType device);

}  // namespace registry

// Each op's kernel signature, from the third column of ops.def: kernel_signature<OpId::sum>::type is
// ReduceKernel. Specialized in kernels/kernel_signatures.h, which every file that registers a kernel includes
// (TRIFECTA_REGISTER_KERNEL does not compile without it).
template <OpId op>
struct kernel_signature;
template <OpId op>
using kernel_signature_t = typename kernel_signature<op>::type;

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

// TRIFECTA_REGISTER_KERNEL(exp, CPU, &unary_cpu): fn must have the signature ops.def gives the op (checked
// at compile time, so CUDA kernels are checked by every CUDA build); callers must ask for the same type, or
// kernel_for throws.
#define TRIFECTA_REGISTER_KERNEL(op, device, fn)                                                              \
  static_assert(std::is_same_v<decltype(fn), ::trifecta::kernel_signature_t<::trifecta::OpId::op>*>,          \
                "TRIFECTA_REGISTER_KERNEL(" #op ", " #device "): the kernel's type differs from the signature " \
                "kernels/ops.def gives " #op);                                                                 \
  static const ::trifecta::KernelRegistrar TRIFECTA_CONCAT(trifecta_kernel_registrar_, __COUNTER__)(            \
      ::trifecta::OpId::op, ::trifecta::DeviceType::device, fn)
