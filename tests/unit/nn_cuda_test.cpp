// A small network on CUDA against the same network on the CPU: one seed builds both, and a training step's
// outputs, gradients, batch norm statistics and spectral norm vectors, then an evaluation forward, agree.
// Skips without a CUDA device.
#include <gtest/gtest.h>

#include <memory>

#include "nn/nn.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

std::shared_ptr<nn::Sequential> network(uint64_t seed) {
  Generator g(seed);
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(2, 4, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}, &g));
  net->push_back(std::make_shared<nn::BatchNorm2d>(4));
  net->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  net->push_back(nn::spectral_norm(
      std::make_shared<nn::ConvTranspose2d>(4, 3, 4, nn::ConvTranspose2dOptions{.stride = 2, .padding = 1}, &g), {},
      &g));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::LayerNorm>(Shape{3 * 6 * 6}));
  net->push_back(std::make_shared<nn::Linear>(3 * 6 * 6, 5, true, &g));
  net->push_back(std::make_shared<nn::BatchNorm1d>(5));
  net->push_back(std::make_shared<nn::GELU>());
  return net;
}

constexpr Tolerance kCrossDevice{1e-4, 1e-5};

TEST(NnCuda, NetworkMatchesTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  const auto cpu = network(21), cuda = network(21);
  cuda->to(kCUDA);
  Generator g(22);
  const Tensor x = rand({3, 2, 6, 6}, {}, &g), w = randn({3, 5}, {}, &g);

  const Tensor out_cpu = cpu->forward(x), out_cuda = cuda->forward(x.to(kCUDA));
  EXPECT_EQ(out_cuda.device(), kCUDA);
  EXPECT_TRUE(tensors_close(out_cuda.to(kCPU), out_cpu, kCrossDevice, "training output"));
  sum(mul(out_cpu, w)).backward();
  sum(mul(out_cuda, w.to(kCUDA))).backward();
  const NamedTensors params_cpu = cpu->named_parameters(), params_cuda = cuda->named_parameters();
  for (size_t i = 0; i < params_cpu.size(); ++i)
    EXPECT_TRUE(tensors_close(params_cuda[i].second.grad().to(kCPU), params_cpu[i].second.grad(), kCrossDevice,
                              "gradient of " + params_cpu[i].first));
  const NamedTensors state_cpu = cpu->state_dict(), state_cuda = cuda->state_dict();
  for (size_t i = 0; i < state_cpu.size(); ++i)
    EXPECT_TRUE(tensors_close(state_cuda[i].second.to(kCPU), state_cpu[i].second, kCrossDevice,
                              "state " + state_cpu[i].first));

  cpu->eval();
  cuda->eval();
  EXPECT_TRUE(tensors_close(cuda->forward(x.to(kCUDA)).to(kCPU), cpu->forward(x), kCrossDevice, "evaluation output"));
}

TEST(NnCuda, LossesMatchTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present";
  Generator g(23);
  const Tensor a = randn({4, 6}, {}, &g), b = rand({4, 6}, {}, &g), log_gamma = scalar_tensor(-0.2);
  const auto on = [](const Tensor& t) { return t.to(kCUDA); };
  const auto close = [](const Tensor& cuda, const Tensor& cpu, const char* what) {
    EXPECT_TRUE(tensors_close(cuda.to(kCPU), cpu, kCrossDevice, what));
  };
  close(nn::mse_loss(on(a), on(b)), nn::mse_loss(a, b), "mse_loss");
  close(nn::binary_cross_entropy_with_logits(on(a), on(b), LossReduction::None),
        nn::binary_cross_entropy_with_logits(a, b, LossReduction::None), "binary_cross_entropy_with_logits");
  close(nn::gaussian_nll(on(a), on(b), on(log_gamma)), nn::gaussian_nll(a, b, log_gamma), "gaussian_nll");
  close(nn::kl_diag_gaussian_standard(on(a), on(b), LossReduction::Sum),
        nn::kl_diag_gaussian_standard(a, b, LossReduction::Sum), "kl_diag_gaussian_standard");
  const Tensor logits = randn({2, 3, 2, 2}, {}, &g);
  const Tensor targets = from_vector<int64_t>({0, 1, 2, 2, 1, 0, 0, 1}, {2, 2, 2});
  close(nn::cross_entropy(on(logits), on(targets), LossReduction::None),
        nn::cross_entropy(logits, targets, LossReduction::None), "cross_entropy");
}

}  // namespace
}  // namespace trifecta::testing
