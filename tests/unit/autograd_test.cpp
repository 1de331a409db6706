// The autograd engine: accumulation into leaves, graphs with shared nodes (a tensor used twice, a diamond),
// retain_graph and freed graphs, grad mode and detach, the checks on requires_grad_, saved-tensor version
// checks after in-place writes, implicit gradients, anomaly mode, and unused outputs of multi-output nodes.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/record.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

Tensor leaf(const std::vector<double>& values, const Shape& shape) {
  Tensor t = from_vector(values, shape);
  t.requires_grad_();
  return t;
}

std::vector<double> grad_of(const Tensor& t) {
  EXPECT_TRUE(t.grad().defined()) << "no gradient";
  return t.grad().defined() ? t.grad().to_vector<double>() : std::vector<double>{};
}

// Switches anomaly mode on for one scope.
struct AnomalyGuard {
  AnomalyGuard() { set_anomaly_enabled(true); }
  ~AnomalyGuard() { set_anomaly_enabled(false); }
};

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  const Tensor x = leaf({1, 2, 3}, {3});
  sum(mul(x, x)).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 4, 6}));
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{5, 7, 9}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  sum(x).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{1, 1, 1}));
  // The accumulated gradient is the leaf's own: a gradient buffer seen elsewhere is never adopted.
  const Tensor seed = full({3}, 2.0, DType::Float64);
  x.zero_grad();
  x.backward(seed);  // a leaf as the root: its gradient arrives as the caller's seed
  sum(x).backward();
  EXPECT_EQ(seed.to_vector<double>(), (std::vector<double>{2, 2, 2})) << "accumulation wrote into the seed";
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, 3, 3}));
}

TEST(Autograd, ATensorUsedTwiceGetsBothContributions) {
  const Tensor x = leaf({1, -2, 0.5}, {3});
  sum(add(x, x)).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 2, 2}));
  x.zero_grad();
  // x * exp(x): d/dx = exp(x) (1 + x).
  sum(mul(x, exp(x))).backward();
  const std::vector<double> g = grad_of(x);
  const std::vector<double> xs = {1, -2, 0.5};
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(g[i], std::exp(xs[i]) * (1 + xs[i]), 1e-12);
}

TEST(Autograd, ADiamondRunsTheSharedNodeOnceWithTheSummedGradient) {
  const Tensor x = leaf({0.5, -1}, {2});
  int shared_runs = 0;
  // y = x, through a counting node; then z = sum(2y + 3y).
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x.clone();
  }
  record(OpId::copy, {x}, {y}, [&shared_runs](const Grads& g) {
    ++shared_runs;
    return Grads{g[0]};
  });
  const Tensor e = exp(y);
  sum(add(mul(e, 2.0), mul(e, 3.0))).backward();
  EXPECT_EQ(shared_runs, 1);
  const std::vector<double> g = grad_of(x);
  EXPECT_NEAR(g[0], 5 * std::exp(0.5), 1e-12);
  EXPECT_NEAR(g[1], 5 * std::exp(-1.0), 1e-12);
  EXPECT_FALSE(e.grad().defined()) << "non-leaves keep no gradient";
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  const Tensor x = leaf({0.0, 1.0}, {2});
  const Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  const std::vector<double> g = grad_of(x);
  EXPECT_NEAR(g[0], 2.0, 1e-12);
  EXPECT_NEAR(g[1], 2 * std::exp(1.0), 1e-12);
  // The second backward did not retain: a third one finds the graph freed.
  EXPECT_ERROR_CONTAINS(y.backward(), "_backward", "already freed", "retain_graph=true");
}

TEST(Autograd, WithoutRetainGraphASecondBackwardIsAnError) {
  const Tensor x = leaf({2.0}, {1});
  const Tensor y = sum(mul(x, x));
  y.backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{4}));
  EXPECT_ERROR_CONTAINS(y.backward(), "sum_backward", "backward through a graph that was already freed");
  EXPECT_EQ(grad_of(x), (std::vector<double>{4})) << "the failed backward changed the gradient";
}

TEST(Autograd, NoGradRecordsNothing) {
  const Tensor x = leaf({1, 2}, {2});
  Tensor y;
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(grad_enabled());
    {
      NoGradGuard nested;
      EXPECT_FALSE(grad_enabled());
    }
    EXPECT_FALSE(grad_enabled()) << "the inner guard restored the outer state, not 'on'";
    y = exp(x);
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
  EXPECT_TRUE(y.is_leaf());
  EXPECT_ERROR_CONTAINS(y.backward(), "backward", "does not require grad");
  const Tensor z = exp(x);
  EXPECT_TRUE(z.requires_grad());
  ASSERT_NE(z.grad_fn(), nullptr);
  EXPECT_EQ(z.grad_fn()->name(), "exp_backward");
}

TEST(Autograd, DetachStopsGradients) {
  const Tensor x = leaf({3, -1}, {2});
  const Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.storage(), x.storage());
  EXPECT_FALSE(mul(d, 2.0).requires_grad());
  // d(x * stop(x))/dx = stop(x): the detached factor is a constant.
  sum(mul(x, d)).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, -1}));
}

TEST(Autograd, RequiresGradOnlyOnFloatingLeaves) {
  const Tensor x = leaf({1, 2}, {2});
  Tensor y = exp(x);
  EXPECT_ERROR_CONTAINS(y.requires_grad_(), "requires_grad_", "only leaf tensors", "exp_backward", "detach()");
  Tensor indices = arange(3);
  EXPECT_ERROR_CONTAINS(indices.requires_grad_(), "requires_grad_", "only floating tensors", "int64[3] cpu");
  indices.requires_grad_(false);  // switching it off is always allowed
  EXPECT_FALSE(indices.requires_grad());
  Tensor detached = y.detach();
  detached.requires_grad_();
  EXPECT_TRUE(detached.is_leaf());
  EXPECT_TRUE(detached.requires_grad());
  // Integer results of differentiable inputs carry no gradient.
  EXPECT_FALSE(argmax(x).requires_grad());
  EXPECT_FALSE(x.to(DType::Int64).requires_grad());
  EXPECT_FALSE(gt(x, 1.5).requires_grad());
}

TEST(Autograd, InPlaceWriteToASavedTensorIsCaughtAtBackward) {
  // mul saves both operands; overwriting one before backward must not silently give a wrong gradient.
  const Tensor x = leaf({1, 2}, {2});
  const Tensor w = from_vector(std::vector<double>{5, 7}, {2});
  const Tensor y = sum(mul(x, w));
  fill_(w, 0.0);
  EXPECT_ERROR_CONTAINS(y.backward(), "mul", "saved for backward", "modified in place", "version 1, saved at 0");
  // exp saves its output; an in-place write to it (allowed only without grad mode) is caught the same way.
  const Tensor e = exp(x);
  const Tensor loss = sum(e);
  EXPECT_ERROR_CONTAINS(mul_(e, 2.0), "mul_", "in-place write to a tensor that requires grad");
  {
    NoGradGuard no_grad;
    mul_(e, 2.0);
  }
  EXPECT_ERROR_CONTAINS(loss.backward(), "exp:", "modified in place");
  // A write to a view counts as a write to the storage it shares.
  const Tensor base = from_vector(std::vector<double>{1, 2, 3, 4}, {4});
  const Tensor y2 = sum(mul(x, base.slice(0, 0, 4, 2)));
  fill_(base.select(0, 3), 9.0);
  EXPECT_ERROR_CONTAINS(y2.backward(), "mul", "modified in place");
}

TEST(Autograd, BackwardOfANonScalarNeedsAGradient) {
  const Tensor x = leaf({1, 2, 3}, {3});
  const Tensor y = mul(x, 2.0);
  EXPECT_ERROR_CONTAINS(y.backward(), "backward", "implied only for a one-element output", "float64[3] cpu");
  EXPECT_ERROR_CONTAINS(y.backward(ones({2}, DType::Float64)), "backward", "does not match the output");
  y.backward(from_vector(std::vector<double>{1, 10, 100}, {3}));
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 20, 200}));
  // A one-element tensor of any rank has an implied gradient of one.
  const Tensor z = leaf({4}, {1, 1});
  mul(z, z).backward();
  EXPECT_EQ(grad_of(z), (std::vector<double>{8}));
}

TEST(Autograd, GradientsFlowThroughDtypeConversions) {
  const Tensor x = leaf({1.5, -2}, {2});
  sum(mul(x.to(DType::Float32), 3.0)).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::Float64);
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, 3}));
}

TEST(Autograd, AnomalyModeNamesTheOpAndInputShapes) {
  const Tensor x = from_vector(std::vector<float>{1, -1, 2}, {3});
  {
    AnomalyGuard anomaly;
    EXPECT_ERROR_CONTAINS(log(x), "anomaly mode", "log produced 1 NaN/Inf value(s)", "output 0", "inputs: float32[3] cpu");
    const Tensor a = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
    const Tensor b = from_vector(std::vector<float>{1, 0, 2}, {3});
    EXPECT_ERROR_CONTAINS(div(a, b), "anomaly mode", "div produced 2 NaN/Inf", "inputs: float32[2, 3] cpu, float32[3] cpu");
    // A backward rule that makes Inf is named too: d sqrt(x)/dx = 1 / (2 sqrt(x)) is infinite at 0.
    Tensor z = from_vector(std::vector<double>{0, 4}, {2});
    z.requires_grad_();
    const Tensor loss = sum(sqrt(z));
    EXPECT_ERROR_CONTAINS(loss.backward(), "anomaly mode", "sqrt_backward produced 1 NaN/Inf");
  }
  // Off: the same op returns its NaN without complaint.
  EXPECT_FALSE(anomaly_enabled());
  const Tensor y = log(x);
  EXPECT_EQ(count_nonfinite(y), 1);
  EXPECT_TRUE(std::isnan(y.to_vector<float>()[1]));
}

TEST(Autograd, UnusedOutputOfAMultiOutputNodeGetsZeros) {
  // A two-output op (2x, 3x) written directly with record; only the first output is used.
  const Tensor x = leaf({1, -1, 4}, {3});
  Tensor twice, thrice;
  {
    NoGradGuard no_grad;
    twice = mul(x, 2.0);
    thrice = mul(x, 3.0);
  }
  bool second_was_zero = false;
  record(OpId::copy, {x}, {twice, thrice}, [&second_was_zero](const Grads& g) {
    second_was_zero = g.size() == 2 && g[1].defined() && g[1].shape() == Shape{3} && count_nonfinite(g[1]) == 0 &&
                      sum(abs(g[1])).item<double>() == 0.0;
    return Grads{add(mul(g[0], 2.0), mul(g[1], 3.0))};
  });
  EXPECT_EQ(twice.grad_fn(), thrice.grad_fn());
  sum(mul(twice, twice)).backward();  // d/dx (2x)^2 = 8x
  EXPECT_TRUE(second_was_zero);
  EXPECT_EQ(grad_of(x), (std::vector<double>{8, -8, 32}));
  // Using only the second output sends zeros into the first.
  x.zero_grad();
  Tensor a, b;
  {
    NoGradGuard no_grad;
    a = mul(x, 2.0);
    b = mul(x, 3.0);
  }
  record(OpId::copy, {x}, {a, b}, [](const Grads& g) { return Grads{add(mul(g[0], 2.0), mul(g[1], 3.0))}; });
  sum(b).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{3, 3, 3}));
}

TEST(Autograd, ABackwardRuleReturningAWrongShapeOrDtypeIsNamed) {
  const Tensor x = leaf({1, 2}, {2});
  Tensor y;
  {
    NoGradGuard no_grad;
    y = x.clone();
  }
  record(OpId::copy, {x}, {y}, [](const Grads&) { return Grads{zeros({3}, DType::Float64)}; });
  EXPECT_ERROR_CONTAINS(sum(y).backward(), "copy_backward", "gradient of shape [3] for input 0 of shape [2]");
  // A gradient in another dtype would otherwise become a float64 leaf's float32 .grad.
  Tensor z;
  {
    NoGradGuard no_grad;
    z = x.clone();
  }
  record(OpId::copy, {x}, {z}, [](const Grads& g) { return Grads{g[0].to(DType::Float32)}; });
  EXPECT_ERROR_CONTAINS(sum(z).backward(), "copy_backward", "gradient of dtype float32 for input 0 of dtype float64");
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SetGradChecksTheShape) {
  const Tensor x = leaf({1, 2}, {2});
  EXPECT_ERROR_CONTAINS(x.set_grad(zeros({3}, DType::Float64)), "set_grad", "does not match");
  x.set_grad(ones({2}, DType::Float64));
  sum(x).backward();
  EXPECT_EQ(grad_of(x), (std::vector<double>{2, 2}));
}

}  // namespace
}  // namespace trifecta
