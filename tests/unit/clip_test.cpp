// Gradient clipping: both forms of Zhang et al. (2020) against their formulas, the float64 norm, parameters
// without gradients, non-finite norms and clip_grad_value_, on CPU and (with a GPU) CUDA. PyTorch's
// clip_grad_norm_ and clip_grad_value_ are also checked directly in optim_golden_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/clip.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

using optim::ClipForm;

// Two parameters with gradients [3, 4] and [[12]] (joint norm 13), and one without a gradient.
std::vector<Tensor> params_with_norm_13(Device device) {
  Tensor a = zeros({2}, device).requires_grad_(), b = zeros({1, 1}, device).requires_grad_(),
         c = zeros({3}, device).requires_grad_();
  a.set_grad(from_vector<float>({3, 4}, {2}).to(device));
  b.set_grad(from_vector<float>({12}, {1, 1}).to(device));
  return {a, b, c};
}

void check_forms(Device device) {
  SCOPED_TRACE(device.str());
  std::vector<Tensor> params = params_with_norm_13(device);
  EXPECT_DOUBLE_EQ(optim::grad_norm(params), 13.0);

  // Clamp: scale by c / (||g|| + 1e-6) when that is below 1.
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 6.5), 13.0);
  const double clamp_scale = 6.5 / (13.0 + 1e-6);
  EXPECT_TRUE(tensors_close(params[0].grad().to(kCPU), from_vector<float>({float(3 * clamp_scale), float(4 * clamp_scale)}, {2}),
                            {1e-6, 0.0}, "clamped a"));
  EXPECT_FALSE(params[2].grad().defined());
  const std::vector<float> before = params[1].grad().to_vector<float>();
  EXPECT_NEAR(optim::clip_grad_norm_(params, 100.0), 6.5, 1e-5);  // below the threshold: untouched
  EXPECT_EQ(params[1].grad().to_vector<float>(), before);

  // Smooth: always scale by c / (||g|| + c).
  params = params_with_norm_13(device);
  EXPECT_DOUBLE_EQ(optim::clip_grad_norm_(params, 13.0, ClipForm::Smooth), 13.0);
  EXPECT_TRUE(tensors_close(params[1].grad().to(kCPU), full({1, 1}, 6.0), {1e-6, 0.0}, "smooth b"));
  EXPECT_NEAR(optim::grad_norm(params), 6.5, 1e-5);
  params = params_with_norm_13(device);
  optim::clip_grad_norm_(params, 1000.0, ClipForm::Smooth);  // even far below c it shrinks a little
  EXPECT_NEAR(params[0].grad().to_vector<float>()[0], 3.0 * 1000.0 / 1013.0, 1e-6);

  // clip_grad_value_ clamps elementwise.
  params = params_with_norm_13(device);
  optim::clip_grad_value_(params, 3.5);
  EXPECT_EQ(params[0].grad().to_vector<float>(), (std::vector<float>{3.0f, 3.5f}));
  EXPECT_EQ(params[1].grad().to_vector<float>(), (std::vector<float>{3.5f}));
}

TEST(Clip, BothFormsAndValueClippingOnCpu) { check_forms(kCPU); }

TEST(Clip, BothFormsAndValueClippingOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; CUDA clipping runs on a GPU machine";
  check_forms(kCUDA);
}

TEST(Clip, NormIsAccumulatedInFloat64) {
  // 2^20 float32 elements of 1e-3: a float32 running sum of squares drifts far more than this allows.
  Tensor p = zeros({1 << 20}).requires_grad_();
  Tensor g = full({1 << 20}, 1e-3);
  p.set_grad(g);
  const double expected = std::sqrt(static_cast<double>(1 << 20) * static_cast<double>(1e-3f) * static_cast<double>(1e-3f));
  EXPECT_NEAR(optim::grad_norm({p}), expected, 1e-9 * expected);
}

TEST(Clip, NonFiniteNormLeavesGradientsAlone) {
  Tensor p = zeros({3}).requires_grad_();
  p.set_grad(from_vector<float>({1.0f, std::numeric_limits<float>::infinity(), 2.0f}, {3}));
  EXPECT_TRUE(std::isinf(optim::clip_grad_norm_({p}, 1.0)));
  EXPECT_EQ(p.grad().to_vector<float>()[0], 1.0f);
  p.set_grad(from_vector<float>({std::nanf(""), 0.0f, 0.0f}, {3}));
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_({p}, 1.0)));
}

TEST(Clip, EdgeCasesAndErrors) {
  Tensor p = zeros({3}).requires_grad_();
  EXPECT_EQ(optim::clip_grad_norm_({p}, 1.0), 0.0);  // no gradients at all
  p.set_grad(zeros({3}));
  EXPECT_EQ(optim::clip_grad_norm_({p}, 1.0), 0.0);  // a zero gradient stays zero
  EXPECT_THROW(optim::clip_grad_norm_({p}, 0.0), Error);
  EXPECT_THROW(optim::clip_grad_norm_({p}, -1.0), Error);
  EXPECT_THROW(optim::clip_grad_value_({p}, -1.0), Error);
  EXPECT_THROW(optim::grad_norm({Tensor()}), Error);
}

}  // namespace
}  // namespace trifecta::testing
