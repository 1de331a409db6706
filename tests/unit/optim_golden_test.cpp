// Optimizers, gradient clipping and learning-rate schedules against PyTorch: tests/oracle/make_optim_golden.py
// (Debian's python3-torch) runs each optimizer configuration for a few steps on fixed float32 parameters with
// a fixed sequence of gradients and records the parameters after every step; this test replays the same
// gradients and must agree. CTest generates the file first (fixture optim_golden_generate) and passes its path
// in TRIFECTA_OPTIM_GOLDEN. The optimizers also run on CUDA when a GPU is present.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"
#include "tensor/json.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

// Float32 after ten updates: the kernels perform PyTorch's operations in PyTorch's order, so the two differ
// only where one compiler fuses a multiply-add that the other rounds twice: on the CPU by one ulp (2^-24
// relative) here and there; this allows an ulp or two per step for CUDA's fused multiply-adds.
constexpr Tolerance kGoldenTolerance{2e-6, 2e-7};

const TensorFile& golden() {
  static const TensorFile file = [] {
    const char* path = std::getenv("TRIFECTA_OPTIM_GOLDEN");
    TRIFECTA_CHECK(path != nullptr, "optim_golden_test",
                   "TRIFECTA_OPTIM_GOLDEN is not set; run through ctest, which generates the file");
    return load_safetensors(path);
  }();
  return file;
}

Json metadata(const std::string& key) { return json::parse(golden().metadata.at(key), "optim golden metadata"); }

double number_or(const Json& object, const char* key, double fallback) {
  return object.contains(key) ? object.at(key).get<double>() : fallback;
}
bool flag(const Json& object, const char* key) { return object.contains(key) && object.at(key).get<bool>(); }

std::unique_ptr<optim::Optimizer> make_optimizer(const Json& config, const std::vector<Tensor>& params) {
  const std::string type = config.at("type").get<std::string>();
  const Json& o = config.at("options");
  std::vector<optim::ParamGroupOptions> groups;
  if (config.at("groups").is_null()) {
    groups.push_back({optim::unnamed(params), {}, {}});
  } else {
    for (const Json& g : config.at("groups")) {
      optim::ParamGroupOptions group;
      for (const Json& i : g.at("params"))
        group.params.emplace_back("", params.at(static_cast<size_t>(i.get<int64_t>())));
      if (g.contains("lr")) group.lr = g.at("lr").get<double>();
      if (g.contains("weight_decay")) group.weight_decay = g.at("weight_decay").get<double>();
      groups.push_back(group);
    }
  }
  if (type == "SGD") {
    optim::SgdOptions options;
    options.lr = number_or(o, "lr", options.lr);
    options.momentum = number_or(o, "momentum", 0.0);
    options.dampening = number_or(o, "dampening", 0.0);
    options.weight_decay = number_or(o, "weight_decay", 0.0);
    options.nesterov = flag(o, "nesterov");
    return std::make_unique<optim::SGD>(groups, options);
  }
  optim::AdamOptions options;
  options.lr = number_or(o, "lr", options.lr);
  options.beta1 = number_or(o, "beta1", options.beta1);
  options.beta2 = number_or(o, "beta2", options.beta2);
  options.eps = number_or(o, "eps", options.eps);
  options.weight_decay = number_or(o, "weight_decay", 0.0);
  options.amsgrad = flag(o, "amsgrad");
  if (type == "Adam") return std::make_unique<optim::Adam>(groups, options);
  TRIFECTA_CHECK(type == "AdamW", "optim_golden_test", "unknown optimizer type ", type);
  return std::make_unique<optim::AdamW>(groups, options);
}

void replay(const Json& config, Device device) {
  const std::string name = config.at("name").get<std::string>();
  SCOPED_TRACE(name + " on " + device.str());
  const int64_t steps = std::stoll(golden().metadata.at("steps"));
  const std::vector<bool> present = [&] {
    std::vector<bool> p;
    for (bool b : golden().get("present").to_vector<bool>()) p.push_back(b);
    return p;
  }();
  std::vector<Tensor> params;
  for (size_t i = 0;; ++i) {
    const std::string key = "init.p" + std::to_string(i);
    if (!golden().has(key)) break;
    params.push_back(golden().get(key).clone().to(device).requires_grad_());
  }
  const std::unique_ptr<optim::Optimizer> optimizer = make_optimizer(config, params);
  for (int64_t t = 0; t < steps; ++t) {
    for (size_t i = 0; i < params.size(); ++i) {
      const bool has_grad = present[static_cast<size_t>(t) * params.size() + i];
      params[i].set_grad(has_grad ? golden().get("grads.p" + std::to_string(i)).select(0, t).to(device).contiguous() : Tensor());
    }
    optimizer->step();
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor expected = golden().get(name + ".p" + std::to_string(i) + ".after").select(0, t);
      ASSERT_TRUE(tensors_close(params[i].detach().to(kCPU), expected, kGoldenTolerance,
                                "parameter " + std::to_string(i) + " after step " + std::to_string(t + 1)));
    }
  }
  EXPECT_EQ(optimizer->step_count(), steps);
}

TEST(OptimGolden, OptimizersMatchPyTorchOnCpu) {
  const Json configs = metadata("configs");
  ASSERT_GE(configs.size(), 9u);
  for (const Json& config : configs) replay(config, kCPU);
}

TEST(OptimGolden, OptimizersMatchPyTorchOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA replay runs on a GPU machine";
  const Json configs = metadata("configs");
  for (const Json& config : configs) replay(config, kCUDA);
}

void check_clipping(Device device) {
  const Json cases = metadata("clip_cases");
  for (const Json& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " on " + device.str());
    std::vector<Tensor> params;
    for (size_t i = 0; golden().has("init.p" + std::to_string(i)); ++i) {
      Tensor p = golden().get("init.p" + std::to_string(i)).clone().to(device).requires_grad_();
      const std::string grad_key = "clip." + name + ".grad" + std::to_string(i);
      if (golden().has(grad_key)) p.set_grad(golden().get(grad_key).to(device).clone());
      params.push_back(p);
    }
    if (!c.at("max_norm").is_null()) {
      const double norm = optim::clip_grad_norm_(params, c.at("max_norm").get<double>());
      const double expected = golden().get("clip." + name + ".norm").item<double>();
      EXPECT_NEAR(norm, expected, 1e-6 * expected);
    } else {
      optim::clip_grad_value_(params, c.at("clip_value").get<double>());
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string key = "clip." + name + ".clipped" + std::to_string(i);
      if (!golden().has(key)) {
        EXPECT_FALSE(params[i].grad().defined()) << "parameter " << i << " had no gradient and must keep none";
        continue;
      }
      EXPECT_TRUE(tensors_close(params[i].grad().to(kCPU), golden().get(key), kGoldenTolerance, key));
    }
  }
}

TEST(OptimGolden, ClippingMatchesPyTorch) { check_clipping(kCPU); }

TEST(OptimGolden, ClippingMatchesPyTorchOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; CUDA clipping runs on a GPU machine";
  check_clipping(kCUDA);
}

TEST(OptimGolden, LearningRateSchedulesMatchPyTorch) {
  const auto check = [](const std::string& name, const optim::LrSchedule& schedule) {
    const std::vector<double> expected = golden().get("lr." + name).to_vector<double>();
    for (size_t step = 0; step < expected.size(); ++step)
      EXPECT_NEAR(schedule.lr(static_cast<int64_t>(step), 0.1), expected[step], 1e-13) << name << " at step " << step;
  };
  check("step", optim::LrSchedule::parse("step:step_size=3,gamma=0.5"));
  check("cosine", optim::LrSchedule::parse("cosine:T_max=10,eta_min=1e-3"));
}

}  // namespace
}  // namespace trifecta::testing
