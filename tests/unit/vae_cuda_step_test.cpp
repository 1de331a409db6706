// A whole VAE training step on CUDA against the same step on the CPU: same initial weights, same batch,
// same Philox noise (so the same z), same Adam update. The parameters after the step must agree within the
// float32 tolerance below (summation order differs between cuBLAS/cuDNN and OpenBLAS, nothing else).
#include <gtest/gtest.h>

#include "data/fashion_mnist.h"
#include "models/vae/vae.h"
#include "optim/adam.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::vae {
namespace {

// After one Adam step a parameter moves by about lr = 1e-3; CPU and CUDA gradients agree to ~1e-5 relative.
constexpr testing::Tolerance kStepTolerance{1e-4, 1e-5};

void one_step(Vae& model, const Tensor& images, Generator& noise) {
  optim::Adam optimizer(model.named_parameters(), {.lr = 1e-3});
  const ElboTerms terms = negative_elbo_terms(model, images, &noise);
  const Tensor loss = add(mean(terms.reconstruction), mean(terms.kl));
  optimizer.zero_grad();
  loss.backward();
  optimizer.step();
}

class VaeCudaStep : public ::testing::TestWithParam<const char*> {};

TEST_P(VaeCudaStep, MatchesTheCpuStep) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; this check runs on a GPU machine";
  const VaeConfig config = VaeConfig::from_flags(GetParam(), "gaussian", 8, 64);
  Generator init(5);
  Vae cpu(config, &init), gpu(config);
  gpu.load_state_dict(cpu.state_dict());
  gpu.to(kCUDA);
  const Tensor images = load_fashion_mnist(FashionMnistSplit::Train, {.limit = 32}).images;
  Generator cpu_noise(11), gpu_noise(11);
  one_step(cpu, images, cpu_noise);
  one_step(gpu, images.to(kCUDA), gpu_noise);
  const NamedTensors a = cpu.state_dict(), b = gpu.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(testing::tensors_close(b[i].second.to(kCPU), a[i].second, kStepTolerance, a[i].first));
}

INSTANTIATE_TEST_SUITE_P(Architectures, VaeCudaStep, ::testing::Values("conv", "mlp"));

}  // namespace
}  // namespace trifecta::vae
