// Op test specs: what the harness (tests/ops/op_harness_test.cpp) needs to test one op on every device.
// A spec names the op, lists cases (input shapes, value domains and memory layouts), says how to run the op
// and gives an independent float64 reference. From that the harness derives, for every case and dtype:
//   forward    the op against the reference (inputs rounded to the dtype first, so both see the same values)
//   gradcheck  analytic gradients against central finite differences in float64, on CPU and on CUDA
//   precision  gradients computed in each lower-precision dtype against float64 gradients on the same values
//   cuda       CUDA against CPU on the same Philox-drawn inputs: outputs and gradients
// Register a spec with TRIFECTA_OP_SPEC in a tests/ops/*_spec.cpp file; the coverage test fails for an op
// in kernels/ops.def that has none.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "kernels/registry.h"
#include "tests/harness/host_ref.h"

namespace trifecta::testing {

// Values an input is drawn from.
enum class Domain {
  Normal,    // N(0, 1)
  Positive,  // uniform in [0.5, 2.5]: for log, sqrt, division
  Unit,      // uniform in [0.05, 0.95]: probabilities
  Wide,      // N(0, 9): exercises overflow paths (softplus threshold, sigmoid tails)
  SmallInt,  // integers in [-2, 2] stored as floats: makes ties (max, comparisons)
  Nonfinite, // N(0, 1) with some NaN, +Inf and -Inf mixed in
  Extreme,   // Nonfinite's values, most scaled by 10^3 ... 10^21: past every integer type's range (conversions)
  Index,     // int64 uniform in [0, index_bound)
  Bool,      // bool, true with probability 1/2
};

// How an input is laid out in memory. The op always sees the requested shape.
enum class Layout {
  Contiguous,
  Transposed,  // the last two dims swapped in memory (needs rank >= 2)
  Strided,     // every other element of a twice-as-long last dim
  Expanded,    // broadcast (stride 0) along the first dim whose size exceeds 1
};

struct InputSpec {
  Shape shape;
  Domain domain = Domain::Normal;
  Layout layout = Layout::Contiguous;
  int64_t index_bound = 0;  // for Domain::Index
  bool differentiable = true;  // floating inputs only; false excludes it from gradcheck
  double offset = 0.0;         // added to every drawn value: a large mean against the spread
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  std::vector<double> params = {};  // op attributes (stride, padding, slope, ...): each spec says which is which
  // The dtypes this case runs in when not all of the spec's (a large offset means nothing in bfloat16).
  std::vector<DType> only_dtypes = {};
  // An absolute bound on the gradient's error in the lower precisions, for a case whose gradient is 0 by
  // cancellation (layer norm over one element): the float64 gradient then gives no scale to judge the
  // rounding noise of the cancelling terms against.
  double gradient_atol = 0.0;
};

using TensorList = std::vector<Tensor>;

struct OpSpec {
  OpId op;
  std::vector<OpCase> cases;
  // Runs the op on inputs of any dtype and device; returns its outputs.
  std::function<TensorList(const TensorList&, const OpCase&)> run;
  // An independent implementation (plain loops over Ref) on float64 CPU inputs; returns float64 outputs.
  std::function<std::vector<Ref>(const std::vector<Ref>&, const OpCase&)> reference;
  // Floating dtypes to check the forward pass in (gradchecks always use float64, cross-device float32).
  std::vector<DType> dtypes = {DType::Float32, DType::Float64};
  // Loosens the reference tolerance for ops that amplify rounding (long sums, cancellation).
  double tolerance_scale = 1.0;
  // The op only means something with a GPU present (to_device); its tests skip, saying so, without one.
  bool needs_cuda = false;
};

std::vector<OpSpec>& op_specs();

// The spec's dtypes that case c runs in.
std::vector<DType> case_dtypes(const OpSpec& spec, const OpCase& c);

struct OpSpecRegistrar {
  OpSpecRegistrar(OpSpec spec) { op_specs().push_back(std::move(spec)); }  // implicit: arrays of specs register
};

// Whether make_inputs lets an input require grad: a floating, differentiable input of finite values
// (finite differences of NaN say nothing).
bool takes_gradient(const InputSpec& spec);

// Makes the inputs of a case in dtype on device: drawn on the CPU from a seed (so every device sees the same
// values), laid out as requested. Bases are the leaf tensors (what gradients accumulate into); views are
// what the op receives.
struct CaseInputs {
  TensorList bases;
  TensorList views;
};
CaseInputs make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed, bool requires_grad);
// The view an input's layout applies to its base (autograd-aware).
Tensor apply_layout(const Tensor& base, const InputSpec& spec);
// The shape of the base that apply_layout turns into spec.shape.
Shape base_shape(const InputSpec& spec);

}  // namespace trifecta::testing

#define TRIFECTA_OP_SPEC_CONCAT_INNER(a, b) a##b
#define TRIFECTA_OP_SPEC_CONCAT(a, b) TRIFECTA_OP_SPEC_CONCAT_INNER(a, b)
// TRIFECTA_OP_SPEC({.op = OpId::exp, .cases = ..., .run = ..., .reference = ...});
#define TRIFECTA_OP_SPEC(...)                                                                               \
  static const ::trifecta::testing::OpSpecRegistrar TRIFECTA_OP_SPEC_CONCAT(trifecta_op_spec_, __COUNTER__)( \
      ::trifecta::testing::OpSpec __VA_ARGS__)
