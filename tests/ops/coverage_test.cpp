// Coverage: every op in kernels/ops.def has what its kind demands (see the table there). This is what makes
// "every op has a CPU kernel, a CUDA kernel, a backward rule and a test" a fact the build checks:
//   - every non-Composite op has its kernels (and, checked at compile time by TRIFECTA_REGISTER_KERNEL,
//     each one has the signature ops.def gives it);
//   - every op but a Backward one has a spec with cases;
//   - every differentiable op records a backward node, and a Kernel op's node carries its own name (a
//     front end that recorded under another op's id would leave its own backward untested by name);
//   - every Backward kernel is called during the op harness's run, on the CPU and, with a GPU, on CUDA:
//     checked once all tests have run (an environment's TearDown), when none were filtered out.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "autograd/node.h"
#include "tests/harness/gradcheck.h"

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

// Whether the graph between outputs and the leaves holds a node named name (an op may view its result
// after recording itself, as matmul reshapes a product of vectors).
bool graph_has_node(const TensorList& outputs, const std::string& name) {
  std::vector<std::shared_ptr<Node>> pending;
  std::set<const Node*> seen;
  for (const Tensor& out : outputs)
    if (out.grad_fn()) pending.push_back(out.grad_fn());
  while (!pending.empty()) {
    const std::shared_ptr<Node> node = pending.back();
    pending.pop_back();
    if (!seen.insert(node.get()).second) continue;
    if (node->name() == name) return true;
    for (const Edge& edge : node->next_edges)
      if (edge.node) pending.push_back(edge.node);
  }
  return false;
}

TEST(Coverage, EveryKernelOpRecordsANodeInItsOwnName) {
  for (OpId op : all_ops()) {
    if (op_kind(op) != OpKind::Kernel) continue;
    const OpSpec* spec = spec_for(op);
    if (!spec || (spec->needs_cuda && !cuda_available())) continue;  // reported above
    const std::string own_name = std::string(op_name(op)) + "_backward";
    for (size_t i = 0; i < spec->cases.size(); ++i) {
      const OpCase& c = spec->cases[i];
      bool differentiable_input = false;
      for (const InputSpec& input : c.inputs) differentiable_input = differentiable_input || takes_gradient(input);
      if (!differentiable_input) continue;
      const CaseInputs in = make_inputs(c, DType::Float64, kCPU, case_seed(*spec, i), true);
      const TensorList outputs = spec->run(in.views, c);
      // An op may hand back an input unchanged (dropout in evaluation, a copy to the same dtype): nothing
      // is recorded then.
      const bool returns_input = std::any_of(outputs.begin(), outputs.end(), [&](const Tensor& out) {
        return std::any_of(in.views.begin(), in.views.end(), [&](const Tensor& v) { return v.impl() == out.impl(); });
      });
      if (returns_input) continue;
      EXPECT_TRUE(graph_has_node(outputs, own_name)) << op_name(op) << "/" << c.name
                                                     << ": no node of its backward graph is " << own_name
                                                     << ": its front end recorded under another op's id";
    }
  }
}

// After the whole run: every Backward kernel was looked up (so called) on the CPU, and on CUDA when a GPU
// ran the CUDA cases. A filtered run proves nothing either way and is not judged.
class BackwardKernelsReached : public ::testing::Environment {
 public:
  void TearDown() override {
    const ::testing::UnitTest& run = *::testing::UnitTest::GetInstance();
    if (run.test_to_run_count() != run.total_test_count()) return;
    std::vector<DeviceType> devices = {DeviceType::CPU};
    if (cuda_available()) devices.push_back(DeviceType::CUDA);
    for (OpId op : all_ops()) {
      if (op_kind(op) != OpKind::Backward) continue;
      for (DeviceType device : devices)
        EXPECT_GT(registry::lookups(op, device), 0u)
            << op_name(op) << "'s " << (device == DeviceType::CPU ? "CPU" : "CUDA")
            << " kernel was never called by the op harness: no spec's gradient reaches it";
    }
  }
};
[[maybe_unused]] ::testing::Environment* const backward_kernels_reached =
    ::testing::AddGlobalTestEnvironment(new BackwardKernelsReached);

TEST(Coverage, SpecsNameDistinctOps) {
  std::set<OpId> seen;
  for (const OpSpec& spec : op_specs()) EXPECT_TRUE(seen.insert(spec.op).second) << op_name(spec.op) << " has two specs";
}

}  // namespace
}  // namespace trifecta::testing
