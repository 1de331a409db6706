// Coverage: every op in kernels/ops.def has what its kind demands (see the table there). This is what makes
// "every op has a CPU kernel, a CUDA kernel, a backward rule and a test" a fact the build checks.
#include <gtest/gtest.h>

#include <set>

#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

std::vector<OpId> all_ops() {
  std::vector<OpId> ops;
  for (int i = 0; i < kNumOps; ++i) ops.push_back(static_cast<OpId>(i));
  return ops;
}

const OpSpec* spec_for(OpId op) {
  for (const OpSpec& spec : op_specs())
    if (spec.op == op) return &spec;
  return nullptr;
}

TEST(Coverage, EveryKernelOpHasCpuAndCudaKernels) {
  for (OpId op : all_ops()) {
    if (op_kind(op) == OpKind::Composite) continue;
    EXPECT_TRUE(registry::has_kernel(op, DeviceType::CPU)) << op_name(op) << " has no CPU kernel";
    if (cuda_compiled()) {
      EXPECT_TRUE(registry::has_kernel(op, DeviceType::CUDA)) << op_name(op) << " has no CUDA kernel";
    }
  }
  if (!cuda_compiled()) std::cout << "[ note ] CPU-only build: CUDA kernel coverage is checked in CUDA builds (CI)\n";
}

TEST(Coverage, EveryPublicOpHasATestSpecWithCases) {
  for (OpId op : all_ops()) {
    if (op_kind(op) == OpKind::Backward) continue;  // tested through the gradcheck of the op that calls it
    const OpSpec* spec = spec_for(op);
    EXPECT_TRUE(spec != nullptr) << op_name(op) << " has no test spec (add one under tests/ops/)";
    if (spec) {
      EXPECT_FALSE(spec->cases.empty()) << op_name(op) << "'s test spec has no cases";
    }
  }
}

TEST(Coverage, EveryDifferentiableOpRecordsABackwardRule) {
  for (OpId op : all_ops()) {
    if (op_kind(op) != OpKind::Kernel && op_kind(op) != OpKind::Composite) continue;
    const OpSpec* spec = spec_for(op);
    if (!spec || spec->cases.empty()) continue;  // reported by the test above
    if (spec->needs_cuda && !cuda_available()) {
      std::cout << "[ note ] " << op_name(op) << " needs a CUDA device to record its backward; none is present\n";
      continue;
    }
    const CaseInputs in = make_inputs(spec->cases[0], DType::Float64, kCPU, 1, true);
    const TensorList outputs = spec->run(in.views, spec->cases[0]);
    bool recorded = false;
    for (const Tensor& out : outputs) recorded = recorded || out.grad_fn() != nullptr;
    EXPECT_TRUE(recorded) << op_name(op) << " is differentiable but recorded no backward node";
  }
}

TEST(Coverage, SpecsNameDistinctOps) {
  std::set<OpId> seen;
  for (const OpSpec& spec : op_specs()) EXPECT_TRUE(seen.insert(spec.op).second) << op_name(spec.op) << " has two specs";
}

}  // namespace
}  // namespace trifecta::testing
