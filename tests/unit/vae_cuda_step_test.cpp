// A whole VAE training step on CUDA against the same step on the CPU: same initial weights, same batch,
// same Philox noise (so the same z). The loss and every parameter's gradient must agree to float32 accuracy
// (summation order differs between cuBLAS/cuDNN and OpenBLAS, nothing else). Gradients, not the parameters
// after an optimizer step: Adam's first step moves each parameter by about lr * sign(g), so a gradient element
// near zero, whose sign is a rounding decision, would move its parameter by 2 lr on one device against the other.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/fashion_mnist.h"
#include "models/vae/vae.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::vae {
namespace {

// The negative ELBO of one batch, with the gradients of the model's parameters left in their .grad().
double loss_and_gradients(Vae& model, const Tensor& images, Generator& noise) {
  const ElboTerms terms = negative_elbo_terms(model, images, &noise);
  const Tensor loss = add(mean(terms.reconstruction), mean(terms.kl));
  loss.backward();
  return loss.item<double>();
}

// Each element within 1e-4 relative of the CPU's, or 1e-5 of the tensor's largest magnitude: sums of a
// few thousand float32 terms in another order differ by about that, relative to the terms, not to their sum.
testing::Tolerance gradient_tolerance(const Tensor& cpu_grad) {
  double largest = 0.0;
  for (double v : cpu_grad.to_vector<double>()) largest = std::max(largest, std::fabs(v));
  return {1e-4, 1e-5 * largest};
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
  const double cpu_loss = loss_and_gradients(cpu, images, cpu_noise);
  const double gpu_loss = loss_and_gradients(gpu, images.to(kCUDA), gpu_noise);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-5 * std::fabs(cpu_loss));
  const auto a = cpu.named_parameters(), b = gpu.named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    const Tensor cpu_grad = a[i].second.grad(), gpu_grad = b[i].second.grad();
    ASSERT_TRUE(cpu_grad.defined() && gpu_grad.defined()) << a[i].first << " has no gradient";
    EXPECT_TRUE(testing::tensors_close(gpu_grad.to(kCPU), cpu_grad, gradient_tolerance(cpu_grad), a[i].first + ".grad"));
  }
}

INSTANTIATE_TEST_SUITE_P(Architectures, VaeCudaStep, ::testing::Values("conv", "mlp", "infogan"));

}  // namespace
}  // namespace trifecta::vae
