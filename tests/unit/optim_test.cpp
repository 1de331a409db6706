// Optimizers beyond the PyTorch golden values (optim_golden_test.cpp): AMSGrad's counterexample from Reddi et
// al., bit-identical resumption through the state dict, the errors of load_state_dict and of the fused
// updates, parameter groups, and state that follows its parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

#include "nn/module.h"
#include "optim/adam.h"
#include "optim/functional.h"
#include "optim/sgd.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

using optim::Adam;
using optim::AdamOptions;
using optim::AdamW;
using optim::Optimizer;
using optim::SGD;
using optim::SgdOptions;

#define EXPECT_ERROR_WITH(statement, fragment)                                                  \
  do {                                                                                          \
    try {                                                                                       \
      statement;                                                                                \
      ADD_FAILURE() << "expected an Error containing \"" << (fragment) << "\"";                 \
    } catch (const Error& e) {                                                                  \
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();           \
    }                                                                                           \
  } while (0)

Tensor leaf(const Shape& shape, uint64_t seed) {
  Generator generator(seed);
  return randn(shape, {}, &generator).requires_grad_();
}

// Reddi et al., "On the convergence of Adam and beyond" (ICLR 2018), section 3: on F = [-1, 1] the losses
// f_t(x) = C x for t mod 3 = 1 and -x otherwise (C = 3) sum to a function minimized at x = -1, but with
// beta1 = 0 and beta2 = 1 / (1 + C^2) Adam's rare large gradient C is damped by its own square in v while the
// frequent -1s are not, so Adam drifts to +1. AMSGrad's non-decreasing v_max keeps the steps after the large
// gradient small, and it finds -1. Step sizes alpha / sqrt(t), as in the paper's analysis.
double reddi_final_x(bool amsgrad) {
  constexpr double kC = 3.0;
  Tensor x = zeros({1}).requires_grad_();
  AdamOptions options;
  options.beta1 = 0.0;
  options.beta2 = 1.0 / (1.0 + kC * kC);
  options.amsgrad = amsgrad;
  Adam adam({x}, options);
  for (int t = 1; t <= 5000; ++t) {
    adam.set_lr(0.1 / std::sqrt(static_cast<double>(t)));
    x.set_grad(full({1}, t % 3 == 1 ? kC : -1.0));
    adam.step();
    NoGradGuard no_grad;
    copy_(x, clamp(x, -1.0, 1.0));  // projection onto F
  }
  return x.item<float>();
}

TEST(Optim, AdamFailsAndAmsgradSucceedsOnReddisCounterexample) {
  EXPECT_GT(reddi_final_x(false), 0.99);
  EXPECT_LT(reddi_final_x(true), -0.99);
}

// ---- resuming from a state dict ----

struct Run {
  std::vector<Tensor> params;
  std::unique_ptr<Optimizer> optimizer;
};
using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(const std::vector<Tensor>&)>;

Run make_run(const MakeOptimizer& make) {
  Run run;
  run.params = {leaf({4, 3}, 1), leaf({5}, 2), leaf({2, 3}, 3)};
  run.optimizer = make(run.params);
  return run;
}

// The gradient of step t is a function of t and the parameter, so two runs that agree so far stay in step.
// Parameter 2 has no gradient on every third step, so per-parameter step counts differ.
void train(Run& run, int from, int to) {
  for (int t = from; t < to; ++t) {
    for (size_t i = 0; i < run.params.size(); ++i) {
      if (i == 2 && t % 3 == 0) {
        run.params[i].set_grad(Tensor());
        continue;
      }
      NoGradGuard no_grad;
      run.params[i].set_grad(add(mul(run.params[i].detach(), 0.5 + 0.1 * t), std::sin(t + static_cast<double>(i))));
    }
    run.optimizer->step();
  }
}

void expect_bitwise_resume(const MakeOptimizer& make) {
  Run uninterrupted = make_run(make);
  train(uninterrupted, 0, 12);

  Run first = make_run(make);
  train(first, 0, 5);
  // Through a file, as a checkpoint would go.
  const std::string path = ::testing::TempDir() + "optim_state.safetensors";
  save_safetensors(path, first.optimizer->state_dict());
  Run resumed = make_run(make);
  for (size_t i = 0; i < resumed.params.size(); ++i) {
    NoGradGuard no_grad;
    copy_(resumed.params[i], first.params[i]);
  }
  resumed.optimizer->load_state_dict(load_safetensors(path).tensors);
  EXPECT_EQ(resumed.optimizer->step_count(), 5);
  train(resumed, 5, 12);

  for (size_t i = 0; i < uninterrupted.params.size(); ++i) {
    const std::vector<float> a = uninterrupted.params[i].to_vector<float>(), b = resumed.params[i].to_vector<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k)
      ASSERT_EQ(std::memcmp(&a[k], &b[k], sizeof(float)), 0) << "parameter " << i << " element " << k << ": " << a[k]
                                                             << " uninterrupted, " << b[k] << " resumed";
  }
  const NamedTensors final_state = uninterrupted.optimizer->state_dict(), resumed_state = resumed.optimizer->state_dict();
  ASSERT_EQ(final_state.size(), resumed_state.size());
  for (size_t k = 0; k < final_state.size(); ++k) {
    EXPECT_EQ(final_state[k].first, resumed_state[k].first);
    EXPECT_TRUE(tensors_close(resumed_state[k].second, final_state[k].second, {0.0, 0.0}, final_state[k].first));
  }
}

TEST(Optim, SgdWithNesterovMomentumResumesBitwise) {
  expect_bitwise_resume([](const std::vector<Tensor>& p) {
    return std::make_unique<SGD>(p, SgdOptions{.lr = 0.05, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
  });
}

TEST(Optim, AdamResumesBitwise) {
  expect_bitwise_resume([](const std::vector<Tensor>& p) {
    return std::make_unique<Adam>(p, AdamOptions{.lr = 1e-2, .weight_decay = 0.1});
  });
}

TEST(Optim, AdamWWithAmsgradAndGroupsResumesBitwise) {
  expect_bitwise_resume([](const std::vector<Tensor>& p) {
    std::vector<optim::ParamGroupOptions> groups = {{{{"w", p[0]}, {"b", p[2]}}, 2e-2, {}},
                                                    {{{"v", p[1]}}, {}, 0.0}};
    return std::make_unique<AdamW>(groups, AdamOptions{.lr = 1e-2, .weight_decay = 0.1, .amsgrad = true});
  });
}

// ---- the state dict's layout and its errors ----

bool has_entry(const NamedTensors& state, const std::string& name) {
  for (const auto& [n, t] : state)
    if (n == name) return true;
  return false;
}

TEST(Optim, StateDictNamesEntriesByParameterNameOrIndex) {
  Tensor w = leaf({2, 2}, 1), b = leaf({2}, 2);
  w.set_grad(ones({2, 2}));  // b has no gradient: no state
  Adam named(NamedTensors{{"enc.weight", w}, {"enc.bias", b}}, AdamOptions{.amsgrad = true});
  named.step();
  const NamedTensors state = named.state_dict();
  for (const char* name : {"optimizer.Adam", "step", "hyper.beta1", "hyper.amsgrad", "param_groups.0.params",
                           "param_groups.0.lr", "state.enc.weight.step", "state.enc.weight.exp_avg",
                           "state.enc.weight.exp_avg_sq", "state.enc.weight.max_exp_avg_sq"})
    EXPECT_TRUE(has_entry(state, name)) << name;
  EXPECT_FALSE(has_entry(state, "state.enc.bias.step"));

  Adam by_index(std::vector<Tensor>{w, b});
  by_index.step();
  EXPECT_TRUE(has_entry(by_index.state_dict(), "state.0.exp_avg"));
  EXPECT_EQ(by_index.param_step(0), 1);
  EXPECT_EQ(by_index.param_step(1), 0);
}

TEST(Optim, LoadStateDictNamesWhatDoesNotFit) {
  Tensor w = leaf({2, 3}, 1), b = leaf({3}, 2);
  w.set_grad(ones({2, 3}));
  b.set_grad(ones({3}));
  Adam adam(std::vector<Tensor>{w, b});
  adam.step();
  const NamedTensors state = adam.state_dict();

  SGD sgd(std::vector<Tensor>{w, b});
  EXPECT_ERROR_WITH(sgd.load_state_dict(state), "the state is from a Adam optimizer, not SGD");
  AdamW adamw(std::vector<Tensor>{w, b});
  EXPECT_ERROR_WITH(adamw.load_state_dict(state), "not AdamW");
  Adam fewer(std::vector<Tensor>{w});
  EXPECT_ERROR_WITH(fewer.load_state_dict(state), "the state is for 2 parameters in 1 groups; this Adam has 1 parameters");
  Adam regrouped(std::vector<optim::ParamGroupOptions>{{optim::unnamed({w}), {}, {}}, {optim::unnamed({b}), {}, {}}});
  EXPECT_ERROR_WITH(regrouped.load_state_dict(state), "in 1 groups; this Adam has 2 parameters in 2 groups");
  Tensor other_shape = leaf({3, 2}, 3);
  Adam reshaped(std::vector<Tensor>{other_shape, b});
  EXPECT_ERROR_WITH(reshaped.load_state_dict(state), "'state.0.exp_avg' has shape [2, 3] but parameter 0 has shape [3, 2]");
  Adam amsgrad(std::vector<Tensor>{w, b}, AdamOptions{.amsgrad = true});
  EXPECT_ERROR_WITH(amsgrad.load_state_dict(state), "amsgrad = 0 but this Adam has amsgrad = 1");
  SGD momentum(std::vector<Tensor>{w, b}, SgdOptions{.momentum = 0.9});
  EXPECT_ERROR_WITH(momentum.load_state_dict(SGD(std::vector<Tensor>{w, b}).state_dict()), "with momentum 0");
  Adam named(NamedTensors{{"w", w}, {"b", b}});
  EXPECT_ERROR_WITH(named.load_state_dict(state), "unexpected entries 'state.0.exp_avg'");

  NamedTensors missing;
  for (const auto& entry : state)
    if (entry.first != "state.1.exp_avg_sq") missing.push_back(entry);
  EXPECT_ERROR_WITH(adam.load_state_dict(missing), "but no 'state.1.exp_avg_sq'");
  EXPECT_ERROR_WITH(adam.load_state_dict(NamedTensors{{"weight", w}}), "not an optimizer state");
  NamedTensors doubled = state;
  doubled.push_back(state.front());
  EXPECT_ERROR_WITH(adam.load_state_dict(doubled), "appears twice");
  // Indices stored as floats (from a damaged file): converting NaN to an integer is undefined behaviour.
  NamedTensors float_indices = state;
  for (auto& [name, t] : float_indices)
    if (name == "param_groups.0.params") t = from_vector(std::vector<double>{std::nan(""), 1.0}, {2}, {DType::Float64});
  EXPECT_ERROR_WITH(adam.load_state_dict(float_indices), "'param_groups.0.params' should be int64 indices, got float64[2]");

  // A failed load changes nothing: the optimizer still has its state and continues.
  EXPECT_EQ(adam.step_count(), 1);
  EXPECT_TRUE(adam.state(0, "exp_avg").defined());
}

// `state` with entry `name` replaced by `value` (a number: 0-dim, of the entry's dtype).
NamedTensors with_entry(NamedTensors state, const std::string& name, const Tensor& value) {
  bool found = false;
  for (auto& [entry, t] : state) {
    if (entry != name) continue;
    t = value;
    found = true;
  }
  EXPECT_TRUE(found) << "no entry " << name;
  return state;
}
NamedTensors with_entry(const NamedTensors& state, const std::string& name, double value) {
  for (const auto& [entry, t] : state)
    if (entry == name) return with_entry(state, name, full(Shape{}, value, {t.dtype()}));
  ADD_FAILURE() << "no entry " << name;
  return state;
}

// A damaged or crafted checkpoint's hyperparameters pass the checks the constructors apply (with PyTorch's
// messages), its flags are 0 or 1 and its step counts possible, or nothing is loaded: a NaN beta or learning
// rate would otherwise turn every parameter into NaN at the next step, and a step count at the int64
// maximum would overflow at the next increment.
TEST(Optim, LoadStateDictValidatesHyperparametersAndStepCountsBeforeLoading) {
  Tensor w = leaf({2, 3}, 1), b = leaf({3}, 2);
  w.set_grad(ones({2, 3}));
  b.set_grad(ones({3}));
  Adam adam(std::vector<Tensor>{w, b}, AdamOptions{.beta1 = 0.8});
  adam.step();
  const NamedTensors state = adam.state_dict();
  const double nan = std::nan(""), inf = INFINITY;
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.beta1", nan)), "Invalid beta parameter at index 0: nan");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.beta1", -0.1)), "Invalid beta parameter at index 0");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.beta2", 1.0)), "Invalid beta parameter at index 1: 1");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.eps", nan)), "Invalid epsilon value: nan");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.eps", -1e-8)), "Invalid epsilon value");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.amsgrad", nan)), "'hyper.amsgrad' must be 0 or 1, got nan");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "hyper.amsgrad", 0.5)), "'hyper.amsgrad' must be 0 or 1");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "param_groups.0.lr", nan)),
                    "Adam.load_state_dict (parameter group 0 of the state): Invalid learning rate: nan");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "param_groups.0.lr", -inf)), "Invalid learning rate: -inf");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "param_groups.0.weight_decay", nan)),
                    "Invalid weight_decay value: nan");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "param_groups.0.initial_lr", inf)),
                    "Invalid initial learning rate: inf");
  // Step counts: each parameter's is at least 1 (state exists only after an update) and at most the
  // optimizer's, and no count is near the int64 maximum.
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "step", from_vector<int64_t>({std::numeric_limits<int64_t>::max()}, Shape{}))), "'step' is 9223372036854775807");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "state.0.step", 0)), "'state.0.step' is 0");
  EXPECT_ERROR_WITH(adam.load_state_dict(with_entry(state, "state.1.step", 2)),
                    "'state.1.step' is 2 but the optimizer took 1 steps");
  // Nothing changed: the hyperparameters, the step count and the state are the ones before the loads.
  EXPECT_EQ(adam.options().beta1, 0.8);
  EXPECT_EQ(adam.options().eps, 1e-8);
  EXPECT_EQ(adam.lr(), 1e-3);
  EXPECT_EQ(adam.step_count(), 1);
  EXPECT_EQ(adam.param_step(0), 1);

  SGD sgd(std::vector<Tensor>{w, b}, SgdOptions{.momentum = 0.9, .nesterov = true});
  sgd.step();
  const NamedTensors sgd_state = sgd.state_dict();
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "hyper.momentum", nan)), "Invalid momentum value: nan");
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "hyper.momentum", -0.9)), "Invalid momentum value: -0.9");
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "hyper.dampening", inf)), "Invalid dampening value: inf");
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "hyper.dampening", 0.5)),
                    "Nesterov momentum requires a momentum and zero dampening");
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "hyper.nesterov", 2.0)), "'hyper.nesterov' must be 0 or 1");
  EXPECT_ERROR_WITH(sgd.load_state_dict(with_entry(sgd_state, "param_groups.0.weight_decay", -1.0)),
                    "Invalid weight_decay value: -1");
  EXPECT_EQ(sgd.options().momentum, 0.9);
  EXPECT_EQ(sgd.options().dampening, 0.0);
  // The unmodified states still load.
  adam.load_state_dict(state);
  sgd.load_state_dict(sgd_state);
  EXPECT_EQ(sgd.step_count(), 1);
}

TEST(Optim, LoadStateDictRestoresHyperparametersAndLearningRates) {
  Tensor w = leaf({3}, 1);
  w.set_grad(ones({3}));
  SGD saved(std::vector<Tensor>{w}, SgdOptions{.lr = 0.3, .momentum = 0.7, .dampening = 0.2});
  saved.step();
  saved.set_lr(0.01);
  SGD loaded(std::vector<Tensor>{w}, SgdOptions{.lr = 1.0, .momentum = 0.1});
  loaded.load_state_dict(saved.state_dict());
  EXPECT_EQ(loaded.lr(), 0.01);
  EXPECT_EQ(loaded.param_groups()[0].initial_lr, 0.3);
  EXPECT_EQ(loaded.options().momentum, 0.7);
  EXPECT_EQ(loaded.options().dampening, 0.2);
  EXPECT_EQ(loaded.param_step(0), 1);
  EXPECT_TRUE(tensors_close(loaded.state(0, "momentum_buffer"), saved.state(0, "momentum_buffer"), {0.0, 0.0}, "buffer"));
  // The loaded state is a copy: stepping one optimizer leaves the other's state alone.
  loaded.step();
  EXPECT_TRUE(tensors_close(saved.state(0, "momentum_buffer"), ones({3}), {0.0, 0.0}, "saved buffer"));
}

// ---- construction and stepping errors ----

TEST(Optim, ConstructorsRejectBadParametersAndHyperparameters) {
  Tensor w = leaf({2}, 1);
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w, w}), "appears twice");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{mul(w, 2.0)}), "is not a leaf tensor");
  // PyTorch's checks and messages (torch.optim.SGD and Adam), NaN refused everywhere.
  const double nan = std::nan("");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.lr = -1.0}), "SGD: Invalid learning rate: -1");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.lr = nan}), "SGD: Invalid learning rate: nan");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.momentum = nan}), "Invalid momentum value: nan");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.momentum = -0.5}), "Invalid momentum value: -0.5");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.dampening = nan}), "Invalid dampening value: nan");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.weight_decay = nan}), "Invalid weight_decay value: nan");
  EXPECT_ERROR_WITH(SGD(std::vector<Tensor>{w}, SgdOptions{.nesterov = true}),
                    "Nesterov momentum requires a momentum and zero dampening");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.lr = nan}), "Adam: Invalid learning rate: nan");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.beta1 = nan}), "Invalid beta parameter at index 0: nan");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.beta1 = -0.1}), "Invalid beta parameter at index 0: -0.1");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.beta2 = 1.0}), "Invalid beta parameter at index 1: 1");
  EXPECT_ERROR_WITH(AdamW(std::vector<Tensor>{w}, AdamOptions{.beta2 = nan}), "AdamW: Invalid beta parameter at index 1");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.eps = nan}), "Invalid epsilon value: nan");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.weight_decay = -0.1}), "Invalid weight_decay value: -0.1");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{w}, AdamOptions{.weight_decay = nan}), "Invalid weight_decay value: nan");
  EXPECT_ERROR_WITH(Adam(std::vector<optim::ParamGroupOptions>{{optim::unnamed({w}), nan, {}}}),
                    "Invalid learning rate: nan in parameter group 0");
  EXPECT_ERROR_WITH(SGD(std::vector<optim::ParamGroupOptions>{{optim::unnamed({w}), {}, -2.0}}),
                    "Invalid weight_decay value: -2 in parameter group 0");
  SGD sgd(std::vector<Tensor>{w});
  EXPECT_ERROR_WITH(sgd.set_lr(nan), "SGD: Invalid learning rate: nan");
  EXPECT_ERROR_WITH(Adam(std::vector<optim::ParamGroupOptions>{}), "needs at least one parameter group");
  EXPECT_ERROR_WITH(Adam(std::vector<Tensor>{zeros({2}, DType::Int64)}), "must be a defined floating tensor");
}

TEST(Optim, StepChecksEveryGradientBeforeMovingAnyParameter) {
  Tensor a = leaf({3}, 1), b = leaf({2}, 2);
  const std::vector<float> a_before = a.to_vector<float>();
  a.set_grad(ones({3}));
  b.set_grad(ones({2}));
  set_data(b, b.detach().to(DType::Float64));  // the gradient is float32 now, the parameter float64
  Adam adam(std::vector<Tensor>{a, b});
  EXPECT_ERROR_WITH(adam.step(), "Adam.step: the gradient float32[2] cpu of parameter 1 does not match the parameter float64[2] cpu");
  EXPECT_EQ(a.to_vector<float>(), a_before);
  EXPECT_EQ(adam.step_count(), 0);
}

TEST(Optim, ZeroGradDropsGradientsAndParametersWithoutOneAreSkipped) {
  Tensor a = leaf({3}, 1), b = leaf({2}, 2);
  a.set_grad(ones({3}));
  b.set_grad(ones({2}));
  SGD sgd(std::vector<Tensor>{a, b}, SgdOptions{.lr = 0.5});
  sgd.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  const std::vector<float> b_before = b.to_vector<float>();
  a.set_grad(ones({3}));
  const std::vector<float> a_before = a.to_vector<float>();
  sgd.step();
  EXPECT_EQ(b.to_vector<float>(), b_before);
  EXPECT_FLOAT_EQ(a.to_vector<float>()[0], a_before[0] - 0.5f);
  EXPECT_EQ(sgd.param_step(0), 1);
  EXPECT_EQ(sgd.param_step(1), 0);
}

TEST(Optim, ParameterGroupsKeepTheirOwnLearningRates) {
  Tensor a = zeros({2}).requires_grad_(), b = zeros({2}).requires_grad_();
  SGD sgd(std::vector<optim::ParamGroupOptions>{{optim::unnamed({a}), {}, {}}, {optim::unnamed({b}), 1.0, {}}},
          SgdOptions{.lr = 0.1});
  a.set_grad(ones({2}));
  b.set_grad(ones({2}));
  sgd.step();
  EXPECT_FLOAT_EQ(a.to_vector<float>()[0], -0.1f);
  EXPECT_FLOAT_EQ(b.to_vector<float>()[0], -1.0f);
  sgd.set_lr(0.5);
  EXPECT_EQ(sgd.param_groups()[1].lr, 0.5);
  EXPECT_EQ(sgd.param_groups()[1].initial_lr, 1.0);
}

TEST(Optim, StateFollowsItsParameterToANewDtype) {
  Tensor w = leaf({3}, 1);
  w.set_grad(ones({3}));
  Adam adam(std::vector<Tensor>{w});
  adam.step();
  set_data(w, w.detach().to(DType::Float64));
  w.set_grad(ones({3}, DType::Float64));
  adam.step();
  EXPECT_EQ(adam.state(0, "exp_avg").dtype(), DType::Float64);
  EXPECT_EQ(adam.param_step(0), 2);
}

TEST(Optim, StepsWorkOnModuleParametersWhileGradModeIsOn) {
  struct Affine : nn::Module {
    Tensor weight = register_parameter("weight", ones({2, 2}));
    Affine() : nn::Module("Affine") {}
  } model;
  Adam adam(model.named_parameters());
  sum(square(model.weight)).backward();
  const uint64_t version = model.weight.storage()->version();
  adam.step();
  EXPECT_GT(model.weight.storage()->version(), version);
  EXPECT_TRUE(model.weight.requires_grad());
  EXPECT_TRUE(grad_enabled());
}

// ---- the fused updates' operand checks ----

TEST(OptimFunctional, RejectsMismatchedOrOverlappingOperands) {
  const Tensor p = zeros({4}), g = ones({4});
  EXPECT_ERROR_WITH(optim::sgd_step_(p, ones({3}), Tensor(), {}), "the gradient float32[3] cpu does not match the parameter");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, ones({4}, DType::Float64), Tensor(), {}), "does not match the parameter");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, g, zeros({4}), {}), "a momentum buffer was given but momentum is 0");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, g, Tensor(), {.momentum = 0.9}), "no momentum buffer was given");
  EXPECT_ERROR_WITH(optim::sgd_step_(zeros({1}).expand({4}), g, Tensor(), {}), "has elements that share memory");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, g, p, {.momentum = 0.9}), "the parameter and the momentum buffer share memory");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, p, Tensor(), {}), "the parameter and the gradient share memory");
  EXPECT_ERROR_WITH(optim::sgd_step_(zeros({4}, DType::Int64), zeros({4}, DType::Int64), Tensor(), {}),
                    "the parameter must be floating");
  const Tensor m = zeros({4}), v = zeros({4});
  EXPECT_ERROR_WITH(optim::adam_step_(p, g, m, v, Tensor(), {.step = 0}), "the step count starts at 1");
  EXPECT_ERROR_WITH(optim::adam_step_(p, g, m, v, Tensor(), {.beta1 = 1.0}), "adam_step: Invalid beta parameter at index 0: 1");
  EXPECT_ERROR_WITH(optim::sgd_step_(p, g, Tensor(), {.lr = std::nan("")}), "sgd_step: Invalid learning rate: nan");
  EXPECT_ERROR_WITH(optim::adam_step_(p, g, m, m, Tensor(), {}), "the exp_avg and the exp_avg_sq share memory");
  EXPECT_ERROR_WITH(optim::adam_step_(p, g, m, v, zeros({2, 2}), {}), "the max_exp_avg_sq float32[2, 2] cpu does not match");
  // Disjoint halves of one buffer are fine.
  const Tensor both = zeros({8});
  optim::adam_step_(p, g, both.narrow(0, 0, 4), both.narrow(0, 4, 4), Tensor(), {});
  EXPECT_NE(p.to_vector<float>()[0], 0.0f);
}

TEST(OptimFunctional, UpdatesBumpTheStorageVersionSoSavedTensorsNotice) {
  const Tensor w = ones({3}).requires_grad_();
  const Tensor y = sum(square(w));  // saves w for backward
  w.set_grad(ones({3}));
  optim::sgd_step_(w, w.grad(), Tensor(), {.lr = 0.1});
  EXPECT_THROW(y.backward(), Error);
}

}  // namespace
}  // namespace trifecta::testing
