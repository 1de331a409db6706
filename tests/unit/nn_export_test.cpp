// The reverse direction of the PyTorch golden test: a state dict saved by trifecta loads into the PyTorch
// twin of the network and gives the same outputs. This step builds two small trifecta networks from a seed,
// runs training forwards (so batch norm's running statistics and spectral norm's u and v move), then
// evaluates an input and saves state dicts, inputs, outputs and the state dicts' key order to the file named
// by TRIFECTA_NN_EXPORT. tests/oracle/check_nn_export.py (the next CTest step, fixture nn_export) loads them
// into torch.nn with load_state_dict(strict=True) and compares.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>

#include "nn/nn.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"

namespace trifecta::testing {
namespace {

// Mirrors image_network() in check_nn_export.py layer for layer.
std::shared_ptr<nn::Sequential> image_network(Generator& g) {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Conv2d>(1, 4, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}, &g));
  net->push_back(std::make_shared<nn::BatchNorm2d>(4));
  net->push_back(std::make_shared<nn::LeakyReLU>(0.2));
  net->push_back(nn::spectral_norm(
      std::make_shared<nn::Conv2d>(4, 6, 3, nn::Conv2dOptions{.stride = 2, .padding = 1}, &g), {}, &g));
  net->push_back(std::make_shared<nn::ELU>());
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(24, 8, true, &g));
  net->push_back(std::make_shared<nn::LayerNorm>(Shape{8}));
  net->push_back(std::make_shared<nn::GELU>(true));
  net->push_back(std::make_shared<nn::Unflatten>(1, std::vector<int64_t>{2, 2, 2}));
  net->push_back(nn::spectral_norm(
      std::make_shared<nn::ConvTranspose2d>(2, 3, 4, nn::ConvTranspose2dOptions{.stride = 2, .padding = 1}, &g), {},
      &g));
  net->push_back(std::make_shared<nn::BatchNorm2d>(3, nn::BatchNormOptions{.momentum = std::nullopt}));
  net->push_back(std::make_shared<nn::SiLU>());
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Dropout>(0.3, &g));
  net->push_back(std::make_shared<nn::Linear>(48, 5, false, &g));
  net->push_back(std::make_shared<nn::Softplus>());
  return net;
}

// Mirrors token_network() in check_nn_export.py.
std::shared_ptr<nn::Sequential> token_network(Generator& g) {
  auto net = std::make_shared<nn::Sequential>();
  net->push_back(std::make_shared<nn::Embedding>(10, 4, 0, &g));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::BatchNorm1d>(12));
  net->push_back(std::make_shared<nn::Tanh>());
  net->push_back(std::make_shared<nn::Linear>(12, 3, true, &g));
  net->push_back(std::make_shared<nn::Sigmoid>());
  return net;
}

void export_network(const std::string& prefix, nn::Sequential& net, const Tensor& train_input,
                    const Tensor& eval_input, NamedTensors& tensors, std::map<std::string, std::string>& metadata) {
  net.train();
  for (int step = 0; step < 2; ++step) net.forward(train_input);
  net.eval();
  Tensor out;
  {
    NoGradGuard no_grad;
    out = net.forward(eval_input);
  }
  Json keys = Json::array();
  for (const auto& [name, t] : net.state_dict()) {
    tensors.emplace_back(prefix + "/state/" + name, t.detach());
    keys.push_back(name);
  }
  tensors.emplace_back(prefix + "/in", eval_input);
  tensors.emplace_back(prefix + "/out", out);
  metadata[prefix + "/state_keys"] = keys.dump();
}

TEST(NnExport, TrifectaStateDictsForThePyTorchTwin) {
  const char* path = std::getenv("TRIFECTA_NN_EXPORT");
  ASSERT_NE(path, nullptr) << "TRIFECTA_NN_EXPORT is not set; run through ctest, which checks the file with PyTorch";
  Generator g(2024);
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;

  const auto images = image_network(g);
  export_network("image", *images, rand({6, 1, 8, 8}, {}, &g), rand({3, 1, 8, 8}, {}, &g), tensors, metadata);
  const auto tokens = token_network(g);
  const Tensor train_tokens = from_vector<int64_t>({1, 0, 4, 9, 2, 2, 0, 5, 7, 3, 8, 0, 6, 6, 1}, {5, 3});
  const Tensor eval_tokens = from_vector<int64_t>({0, 3, 9, 5, 5, 1}, {2, 3});
  export_network("token", *tokens, train_tokens, eval_tokens, tensors, metadata);

  save_safetensors(path, tensors, metadata);
}

}  // namespace
}  // namespace trifecta::testing
