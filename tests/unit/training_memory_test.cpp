// Live memory returns to its baseline after every training step: once a step's loss, its graph and the
// gradients are released, every tensor the step made is freed. A reference cycle through the autograd graph
// (a node holding a tensor whose grad_fn holds the node) would keep the saved activations of every step
// alive, and the allocator's live byte count (tensor/storage.h: memory_stats) would grow by them each step.
// Checked on the CPU and, when a GPU is present, on CUDA, where the count is of blocks handed out by the
// caching allocator (cached free blocks are not live).
#include <gtest/gtest.h>

#include "autograd/ops.h"
#include "models/vae/vae.h"
#include "optim/adam.h"

namespace trifecta::vae {
namespace {

size_t live_bytes(Device device) { return memory_stats(device).allocated_bytes; }

struct Case {
  const char* device;
  const char* architecture;
  const char* likelihood;
};

class TrainingMemory : public ::testing::TestWithParam<Case> {};

TEST_P(TrainingMemory, LiveBytesReturnToTheirBaselineAfterEachStep) {
  const Case c = GetParam();
  const Device device = Device::parse(c.device);
  if (device.is_cuda() && !cuda_available()) GTEST_SKIP() << "no CUDA device present; this check runs on a GPU machine";
  Generator init(1), noise(2), data(3);
  Vae model(VaeConfig::from_flags(c.architecture, c.likelihood, 8, 64), &init);
  model.to(device);
  optim::Adam optimizer(model.named_parameters(), {.lr = 1e-3});
  const Tensor images = rand({16, 1, 28, 28}, DType::Float32, &data).to(device);
  const auto step = [&] {
    const ElboTerms terms = negative_elbo_terms(model, images, &noise);
    const Tensor loss = add(mean(terms.reconstruction), mean(terms.kl));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    optimizer.zero_grad();  // drops the gradients: what is left is the parameters and Adam's state
  };
  step();  // the first step creates Adam's moments, which stay
  const size_t baseline = live_bytes(device);
  for (int i = 1; i <= 3; ++i) {
    step();
    EXPECT_EQ(live_bytes(device), baseline) << "after step " << i + 1 << " on " << c.device;
  }
  // A graph dropped without a backward is freed too.
  { const ElboTerms terms = negative_elbo_terms(model, images, &noise); }
  EXPECT_EQ(live_bytes(device), baseline) << "after an abandoned forward on " << c.device;
  // Evaluation under NoGradGuard keeps no graph at all.
  {
    NoGradGuard no_grad;
    const Tensor nll = importance_weighted_log_likelihood(model, images, 3, &noise);
  }
  EXPECT_EQ(live_bytes(device), baseline) << "after an evaluation on " << c.device;
}

INSTANTIATE_TEST_SUITE_P(Devices, TrainingMemory,
                         ::testing::Values(Case{"cpu", "conv", "bernoulli"}, Case{"cpu", "mlp", "gaussian"},
                                           Case{"cuda", "conv", "bernoulli"}, Case{"cuda", "mlp", "gaussian"}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.device) + "_" + info.param.architecture + "_" +
                                  info.param.likelihood;
                         });

}  // namespace
}  // namespace trifecta::vae
