// The op harness: every registered spec, every case, on every device (see tests/harness/op_spec.h).
// CUDA tests skip, saying so, only when no CUDA device is present.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

struct CaseId {
  size_t spec;
  size_t index;
  const OpSpec& op_spec() const { return op_specs()[spec]; }
  const OpCase& op_case() const { return op_specs()[spec].cases[index]; }
};

std::vector<CaseId> cases_where(bool (*keep)(const OpSpec&, const OpCase&)) {
  std::vector<CaseId> ids;
  for (size_t s = 0; s < op_specs().size(); ++s)
    for (size_t c = 0; c < op_specs()[s].cases.size(); ++c)
      if (keep(op_specs()[s], op_specs()[s].cases[c])) ids.push_back({s, c});
  return ids;
}

bool any_case(const OpSpec&, const OpCase&) { return true; }
bool differentiable(const OpSpec& s) { return op_kind(s.op) == OpKind::Kernel || op_kind(s.op) == OpKind::Composite; }
// A differentiable op's case with an input to differentiate (see make_inputs: NaN and infinities are not).
bool has_gradient(const OpSpec& s, const OpCase& c) {
  if (!differentiable(s)) return false;
  for (const InputSpec& input : c.inputs)
    if (takes_gradient(input)) return true;
  return false;
}
bool has_low_precision_gradient(const OpSpec& s, const OpCase& c) {
  if (!has_gradient(s, c)) return false;
  for (DType dtype : case_dtypes(s, c))
    if (dtype != DType::Float64) return true;
  return false;
}

// Finite differences need finite points: cases with NaN or infinite inputs check the forward pass (and CUDA
// against CPU, gradients included) but not the gradcheck; the PyTorch oracle checks their gradients.
std::vector<CaseId> finite_cases(std::vector<CaseId> ids) {
  std::erase_if(ids, [](const CaseId& id) {
    const auto& inputs = id.op_case().inputs;
    return std::any_of(inputs.begin(), inputs.end(), [](const InputSpec& in) {
      return in.domain == Domain::Nonfinite || in.domain == Domain::Extreme;
    });
  });
  return ids;
}

std::string case_name(const ::testing::TestParamInfo<CaseId>& info) {
  std::string name = std::string(op_name(info.param.op_spec().op)) + "_" + info.param.op_case().name;
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

void expect_outputs_match_reference(const CaseId& id, DType dtype) {
  const OpSpec& spec = id.op_spec();
  const CaseInputs in = make_inputs(id.op_case(), dtype, kCPU, case_seed(spec, id.index), false);
  const TensorList outputs = spec.run(in.views, id.op_case());
  std::vector<Ref> ref_inputs;
  for (const Tensor& v : in.views) ref_inputs.push_back(Ref::of(v));
  const std::vector<Ref> expected = spec.reference(ref_inputs, id.op_case());
  ASSERT_EQ(outputs.size(), expected.size()) << "the op and its reference return different numbers of outputs";
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tolerance tol = reference_tolerance(outputs[k].dtype()).scaled(spec.tolerance_scale);
    EXPECT_TRUE(tensor_matches_ref(outputs[k], expected[k], tol,
                                   std::string("output ") + std::to_string(k) + " in " + dtype_name(dtype)));
  }
}

// ---- forward against the float64 reference, in each of the spec's dtypes ----
class Forward : public ::testing::TestWithParam<CaseId> {};
TEST_P(Forward, MatchesReference) {
  if (GetParam().op_spec().needs_cuda && !cuda_available()) GTEST_SKIP() << "this op needs a CUDA device; none is present";
  for (DType dtype : case_dtypes(GetParam().op_spec(), GetParam().op_case())) {
    SCOPED_TRACE(dtype_name(dtype));
    expect_outputs_match_reference(GetParam(), dtype);
  }
}
INSTANTIATE_TEST_SUITE_P(Ops, Forward, ::testing::ValuesIn(cases_where(any_case)), case_name);

// ---- gradients against finite differences, float64 ----
class Gradcheck : public ::testing::TestWithParam<CaseId> {};
TEST_P(Gradcheck, Cpu) {
  if (GetParam().op_spec().needs_cuda && !cuda_available()) GTEST_SKIP() << "this op needs a CUDA device; none is present";
  EXPECT_TRUE(gradcheck(GetParam().op_spec(), GetParam().op_case(), kCPU, case_seed(GetParam().op_spec(), GetParam().index)));
}
TEST_P(Gradcheck, Cuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA gradcheck runs on a GPU machine";
  EXPECT_TRUE(gradcheck(GetParam().op_spec(), GetParam().op_case(), kCUDA, case_seed(GetParam().op_spec(), GetParam().index)));
}
INSTANTIATE_TEST_SUITE_P(Ops, Gradcheck, ::testing::ValuesIn(finite_cases(cases_where(has_gradient))), case_name);

// ---- gradients in bfloat16, float16 and float32 against float64 gradients of the same values ----
class LowPrecisionGradients : public ::testing::TestWithParam<CaseId> {};
void expect_low_precision_gradients(const CaseId& id, Device device) {
  for (DType dtype : case_dtypes(id.op_spec(), id.op_case())) {
    if (dtype == DType::Float64) continue;
    EXPECT_TRUE(gradients_match_float64(id.op_spec(), id.op_case(), dtype, device, case_seed(id.op_spec(), id.index)));
  }
}
TEST_P(LowPrecisionGradients, Cpu) {
  if (GetParam().op_spec().needs_cuda && !cuda_available())
    GTEST_SKIP() << "this op needs a CUDA device; none is present";
  expect_low_precision_gradients(GetParam(), kCPU);
}
TEST_P(LowPrecisionGradients, Cuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA gradients are compared on a GPU machine";
  expect_low_precision_gradients(GetParam(), kCUDA);
}
INSTANTIATE_TEST_SUITE_P(Ops, LowPrecisionGradients, ::testing::ValuesIn(finite_cases(cases_where(has_low_precision_gradient))),
                         case_name);

// ---- CUDA against CPU on the same inputs: outputs, and gradients for differentiable ops ----
class CudaVsCpu : public ::testing::TestWithParam<CaseId> {};
TEST_P(CudaVsCpu, OutputsAndGradients) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; CUDA-vs-CPU checks run on a GPU machine";
  const OpSpec& spec = GetParam().op_spec();
  const OpCase& c = GetParam().op_case();
  const uint64_t seed = case_seed(spec, GetParam().index);
  for (DType dtype : case_dtypes(spec, c)) {
    SCOPED_TRACE(dtype_name(dtype));
    const bool grads = has_gradient(spec, c) && dtype != DType::BFloat16 && dtype != DType::Float16;
    CaseInputs cpu = make_inputs(c, dtype, kCPU, seed, grads);
    CaseInputs gpu = make_inputs(c, dtype, kCUDA, seed, grads);
    const TensorList cpu_out = spec.run(cpu.views, c), gpu_out = spec.run(gpu.views, c);
    ASSERT_EQ(cpu_out.size(), gpu_out.size());
    Tensor cpu_loss, gpu_loss;
    Generator weights(seed ^ 0x5A5A5A5Aull);
    for (size_t k = 0; k < cpu_out.size(); ++k) {
      EXPECT_TRUE(tensors_close(gpu_out[k].to(kCPU), cpu_out[k], cross_device_tolerance(cpu_out[k].dtype()),
                                "output " + std::to_string(k)));
      if (!grads || !cpu_out[k].requires_grad()) continue;
      const Tensor w = randn(cpu_out[k].shape(), cpu_out[k].dtype(), &weights);
      const Tensor cpu_term = sum(mul(cpu_out[k], w)), gpu_term = sum(mul(gpu_out[k], w.to(kCUDA)));
      cpu_loss = cpu_loss.defined() ? add(cpu_loss, cpu_term) : cpu_term;
      gpu_loss = gpu_loss.defined() ? add(gpu_loss, gpu_term) : gpu_term;
    }
    if (!cpu_loss.defined()) continue;
    cpu_loss.backward();
    gpu_loss.backward();
    for (size_t i = 0; i < cpu.bases.size(); ++i) {
      if (!cpu.bases[i].requires_grad()) continue;
      ASSERT_TRUE(cpu.bases[i].grad().defined() && gpu.bases[i].grad().defined()) << "input " << i << " got no gradient";
      EXPECT_TRUE(tensors_close(gpu.bases[i].grad().to(kCPU), cpu.bases[i].grad(),
                                cross_device_tolerance(dtype).scaled(10.0), "gradient of input " + std::to_string(i)));
    }
  }
}
INSTANTIATE_TEST_SUITE_P(Ops, CudaVsCpu, ::testing::ValuesIn(cases_where(any_case)), case_name);

// ---- the lower-precision gradient check fails on a wrong gradient ----
// square(scale * x), whose gradient below float64 is deliberately off by a factor 1 + delta: the added
// delta * (y - y.detach()) is 0 in the forward pass and adds delta * dy to the backward pass.
OpSpec perturbed_square(double scale, double delta) {
  return {.op = OpId::square,
          .cases = {{"perturbed", {{{5, 7}, Domain::Normal}}}},
          .run = [scale, delta](const TensorList& in, const OpCase&) {
            Tensor y = square(mul(in[0], scale));
            if (in[0].dtype() != DType::Float64) y = add(y, mul(sub(y, y.detach()), delta));
            return TensorList{y};
          },
          .reference = [scale](const std::vector<Ref>& in, const OpCase&) {
            return std::vector<Ref>{map_ref(in[0], [scale](double x) { return scale * x * scale * x; })};
          },
          .dtypes = {DType::Float32, DType::BFloat16, DType::Float16}};
}

TEST(LowPrecisionGradientCheck, FailsOnAGradientOffByAFewRoundings) {
  // Each dtype's tolerance is 8u relative to the element plus 8u relative to the largest element (64u for
  // float32): an error of 16u at the largest element fails it, a faithful computation passes. At scale 1e-3
  // the gradients are ~1e-6, where the old absolute bound of 2e-2 would have passed anything.
  struct Probe {
    DType dtype;
    double delta;
  };
  for (const Probe& probe : {Probe{DType::BFloat16, 0.1}, Probe{DType::Float16, 0.02}, Probe{DType::Float32, 2e-5}}) {
    for (const double scale : {1.0, 1e-3}) {
      SCOPED_TRACE(std::string(dtype_name(probe.dtype)) + " at scale " + std::to_string(scale));
      const OpSpec faithful = perturbed_square(scale, 0.0), wrong = perturbed_square(scale, probe.delta);
      EXPECT_TRUE(gradients_match_float64(faithful, faithful.cases[0], probe.dtype, kCPU, 7));
      EXPECT_FALSE(gradients_match_float64(wrong, wrong.cases[0], probe.dtype, kCPU, 7));
    }
  }
}

}  // namespace
}  // namespace trifecta::testing
