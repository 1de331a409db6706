// The kernel table behind kernels/registry.h. It is filled during static initialization (each kernel file
// registers itself), so it lives in a function-local static that exists before the first registration.
#include "kernels/registry.h"

#include <array>
#include <atomic>

namespace trifecta {

namespace {

struct OpEntry {
  const char* name;
  OpKind kind;
  std::array<registry::AnyFn, kNumDeviceTypes> kernels{};
  std::array<const std::type_info*, kNumDeviceTypes> signatures{};
};

std::array<OpEntry, kNumOps>& table() {
  static std::array<OpEntry, kNumOps> entries = [] {
    std::array<OpEntry, kNumOps> e{};
    int i = 0;
#define TRIFECTA_OP(name, kind, signature) e[i++] = OpEntry{#name, OpKind::kind, {}, {}};
#include "kernels/ops.def"
#undef TRIFECTA_OP
    return e;
  }();
  return entries;
}

// Zero-initialized before any code runs (constant initialization), so counting never races the table's setup.
std::array<std::array<std::atomic<uint64_t>, kNumDeviceTypes>, kNumOps> lookup_counts;

const char* device_type_name(DeviceType d) { return d == DeviceType::CPU ? "CPU" : "CUDA"; }

}  // namespace

const char* op_name(OpId op) { return table()[static_cast<int>(op)].name; }
OpKind op_kind(OpId op) { return table()[static_cast<int>(op)].kind; }

namespace registry {

void add_kernel(OpId op, DeviceType device, AnyFn fn, const std::type_info& signature) {
  OpEntry& entry = table()[static_cast<int>(op)];
  const int d = static_cast<int>(device);
  TRIFECTA_CHECK(entry.kernels[d] == nullptr, entry.name, "a ", device_type_name(device),
                 " kernel is registered twice");
  entry.kernels[d] = fn;
  entry.signatures[d] = &signature;
}

AnyFn find_kernel(OpId op, DeviceType device, const std::type_info& signature) {
  const OpEntry& entry = table()[static_cast<int>(op)];
  const int d = static_cast<int>(device);
  TRIFECTA_CHECK(entry.kernels[d] != nullptr, entry.name, "no ", device_type_name(device), " kernel",
                 device == DeviceType::CUDA && !cuda_compiled() ? " (this build has no CUDA backend)" : "");
  TRIFECTA_CHECK(*entry.signatures[d] == signature, entry.name, "kernel requested with signature ",
                 signature.name(), " but registered with ", entry.signatures[d]->name());
  lookup_counts[static_cast<int>(op)][d].fetch_add(1, std::memory_order_relaxed);
  return entry.kernels[d];
}

uint64_t lookups(OpId op, DeviceType device) {
  return lookup_counts[static_cast<int>(op)][static_cast<int>(device)].load(std::memory_order_relaxed);
}

bool has_kernel(OpId op, DeviceType device) {
  return table()[static_cast<int>(op)].kernels[static_cast<int>(device)] != nullptr;
}

}  // namespace registry
}  // namespace trifecta
