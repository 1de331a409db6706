// trifecta's layers and losses against PyTorch: tests/oracle/make_nn_golden.py builds each layer from a spec,
// fills its state with random values and records the input, output, the gradients of L = sum(out * w) and
// the state after the forward. This test builds the same layer from the same spec, loads the state by
// PyTorch's names with a strict load_state_dict (which proves the names match), checks the state dict's key
// order, and must reproduce everything in float32. CTest generates the file first (fixture nn_golden) and
// passes its path in TRIFECTA_NN_GOLDEN.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "nn/nn.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

constexpr Tolerance kGoldenTolerance{1e-4, 2e-5};

const TensorFile& golden() {
  static const TensorFile file = [] {
    const char* path = std::getenv("TRIFECTA_NN_GOLDEN");
    TRIFECTA_CHECK(path != nullptr, "nn_golden_test",
                   "TRIFECTA_NN_GOLDEN is not set; run through ctest, which generates the file");
    return load_safetensors(path);
  }();
  return file;
}

// Every tensor of the golden file under prefix, with the prefix removed.
NamedTensors tensors_under(const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, t] : golden().tensors)
    if (name.rfind(prefix, 0) == 0) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

int64_t int_of(const Json& spec, const char* key) { return spec.at(key).get<int64_t>(); }
double number_of(const Json& spec, const char* key) { return spec.at(key).get<double>(); }
bool flag_of(const Json& spec, const char* key) { return spec.at(key).get<bool>(); }
Size2d size2d_of(const Json& spec, const char* key) {
  const Json& v = spec.at(key);
  if (v.is_number()) return v.get<int64_t>();
  return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()};
}

// The trifecta twin of make_nn_golden.py's build().
std::shared_ptr<nn::UnaryModule> build(const Json& spec) {
  const std::string type = spec.at("type").get<std::string>();
  std::shared_ptr<nn::UnaryModule> layer;
  if (type == "Linear") {
    layer = std::make_shared<nn::Linear>(int_of(spec, "in"), int_of(spec, "out"), flag_of(spec, "bias"));
  } else if (type == "Conv2d") {
    layer = std::make_shared<nn::Conv2d>(
        int_of(spec, "in"), int_of(spec, "out"), size2d_of(spec, "kernel"),
        nn::Conv2dOptions{.stride = size2d_of(spec, "stride"), .padding = size2d_of(spec, "padding"),
                          .dilation = size2d_of(spec, "dilation"), .bias = flag_of(spec, "bias")});
  } else if (type == "ConvTranspose2d") {
    layer = std::make_shared<nn::ConvTranspose2d>(
        int_of(spec, "in"), int_of(spec, "out"), size2d_of(spec, "kernel"),
        nn::ConvTranspose2dOptions{.stride = size2d_of(spec, "stride"), .padding = size2d_of(spec, "padding"),
                                   .output_padding = size2d_of(spec, "output_padding"),
                                   .dilation = size2d_of(spec, "dilation"), .bias = flag_of(spec, "bias")});
  } else if (type == "BatchNorm1d" || type == "BatchNorm2d") {
    const Json& momentum = spec.at("momentum");
    const nn::BatchNormOptions options{
        .eps = number_of(spec, "eps"),
        .momentum = momentum.is_null() ? std::nullopt : std::optional<double>(momentum.get<double>()),
        .affine = flag_of(spec, "affine"),
        .track_running_stats = flag_of(spec, "track")};
    if (type == "BatchNorm1d")
      layer = std::make_shared<nn::BatchNorm1d>(int_of(spec, "features"), options);
    else
      layer = std::make_shared<nn::BatchNorm2d>(int_of(spec, "features"), options);
  } else if (type == "LayerNorm") {
    Shape shape;
    for (const Json& d : spec.at("shape")) shape.push_back(d.get<int64_t>());
    layer = std::make_shared<nn::LayerNorm>(
        shape, nn::LayerNormOptions{.eps = number_of(spec, "eps"), .elementwise_affine = flag_of(spec, "affine")});
  } else if (type == "Embedding") {
    const Json& padding = spec.at("padding_idx");
    layer = std::make_shared<nn::Embedding>(
        int_of(spec, "num"), int_of(spec, "dim"),
        padding.is_null() ? std::nullopt : std::optional<int64_t>(padding.get<int64_t>()));
  } else if (type == "Dropout") {
    layer = std::make_shared<nn::Dropout>(number_of(spec, "p"));
  } else if (type == "ReLU") {
    layer = std::make_shared<nn::ReLU>();
  } else if (type == "LeakyReLU") {
    layer = std::make_shared<nn::LeakyReLU>(number_of(spec, "slope"));
  } else if (type == "ELU") {
    layer = std::make_shared<nn::ELU>(number_of(spec, "alpha"));
  } else if (type == "GELU") {
    layer = std::make_shared<nn::GELU>(flag_of(spec, "tanh"));
  } else if (type == "SiLU") {
    layer = std::make_shared<nn::SiLU>();
  } else if (type == "Sigmoid") {
    layer = std::make_shared<nn::Sigmoid>();
  } else if (type == "Tanh") {
    layer = std::make_shared<nn::Tanh>();
  } else if (type == "Softplus") {
    layer = std::make_shared<nn::Softplus>(number_of(spec, "beta"), number_of(spec, "threshold"));
  } else if (type == "Flatten") {
    layer = std::make_shared<nn::Flatten>(int_of(spec, "start"), int_of(spec, "end"));
  } else if (type == "Unflatten") {
    std::vector<int64_t> sizes;
    for (const Json& s : spec.at("sizes")) sizes.push_back(s.get<int64_t>());
    layer = std::make_shared<nn::Unflatten>(int_of(spec, "dim"), sizes);
  } else if (type == "Sequential") {
    auto sequential = std::make_shared<nn::Sequential>();
    for (const Json& child : spec.at("layers")) sequential->push_back(build(child));
    layer = sequential;
  } else {
    TRIFECTA_FAIL("nn_golden_test", "the golden file has a layer of type '", type, "' that this test cannot build");
  }
  if (spec.contains("spectral_norm")) {
    auto* weighted = dynamic_cast<nn::WeightedLayer*>(layer.get());
    TRIFECTA_CHECK(weighted != nullptr, "nn_golden_test", "spectral norm on a ", type, ", which has no weight");
    nn::apply_spectral_norm(*weighted, {.n_power_iterations = static_cast<int>(int_of(
                                            spec.at("spectral_norm"), "n_power_iterations"))});
  }
  return layer;
}

::testing::AssertionResult same_state(const Tensor& actual, const Tensor& expected, const std::string& what) {
  if (is_floating(expected.dtype())) return tensors_close(actual, expected, kGoldenTolerance, what);
  if (actual.shape() == expected.shape() && actual.to_vector<int64_t>() == expected.to_vector<int64_t>())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << actual.str() << " differs from " << expected.str();
}

std::vector<Json> cases_of_kind(const std::string& kind) {
  std::vector<Json> out;
  const Json cases = json::parse(golden().metadata.at("cases"), "nn golden metadata");
  for (const Json& c : cases)
    if (c.at("kind").get<std::string>() == kind) out.push_back(c);
  return out;
}

TEST(NnGolden, EveryLayerMatchesPyTorch) {
  const std::vector<Json> cases = cases_of_kind("layer");
  ASSERT_GT(cases.size(), 40u);
  for (const Json& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const std::shared_ptr<nn::UnaryModule> module = build(c.at("spec"));

    std::vector<std::string> expected_keys, keys;
    for (const Json& k : c.at("state_keys")) expected_keys.push_back(k.get<std::string>());
    for (const auto& [key, t] : module->state_dict()) keys.push_back(key);
    EXPECT_EQ(keys, expected_keys) << "state dict keys or their order differ from PyTorch's";
    module->load_state_dict(tensors_under(name + "/state/"));
    module->train(c.at("training").get<bool>());

    Tensor x = golden().get(name + "/in").clone();
    if (is_floating(x.dtype())) x.requires_grad_();
    const Tensor out = module->forward(x);
    EXPECT_TRUE(tensors_close(out, golden().get(name + "/out"), kGoldenTolerance, name + " output"));
    sum(mul(out, golden().get(name + "/w"))).backward();

    if (golden().has(name + "/grad_in")) {
      ASSERT_TRUE(x.grad().defined()) << "the input got no gradient";
      EXPECT_TRUE(tensors_close(x.grad(), golden().get(name + "/grad_in"), kGoldenTolerance, name + " input gradient"));
    }
    const NamedTensors expected_grads = tensors_under(name + "/grad/");
    const NamedTensors parameters = module->named_parameters();
    EXPECT_EQ(parameters.size(), expected_grads.size()) << "parameter count differs from PyTorch's";
    for (const auto& [key, p] : parameters) {
      ASSERT_TRUE(p.grad().defined()) << "parameter " << key << " got no gradient";
      EXPECT_TRUE(tensors_close(p.grad(), golden().get(name + "/grad/" + key), kGoldenTolerance,
                                name + " gradient of " + key));
    }
    for (const auto& [key, t] : module->state_dict())
      EXPECT_TRUE(same_state(t, golden().get(name + "/after/" + key), name + " state " + key + " after the forward"));
  }
}

LossReduction reduction_of(const std::string& reduction) {
  if (reduction == "mean") return LossReduction::Mean;
  if (reduction == "sum") return LossReduction::Sum;
  TRIFECTA_CHECK(reduction == "none", "nn_golden_test", "unknown reduction '", reduction, "'");
  return LossReduction::None;
}

Tensor run_loss(const std::string& loss, const Json& params, const TensorList& in, LossReduction reduction) {
  if (loss == "mse") return nn::mse_loss(in[0], in[1], reduction);
  if (loss == "bce_with_logits") return nn::binary_cross_entropy_with_logits(in[0], in[1], reduction);
  if (loss == "cross_entropy")
    return nn::cross_entropy(in[0], in[1], reduction, params.at("label_smoothing").get<double>(),
                             params.at("ignore_index").get<int64_t>());
  if (loss == "gaussian_nll") return nn::gaussian_nll(in[0], in[1], in[2], reduction);
  if (loss == "kl_diag_gaussian_standard") return nn::kl_diag_gaussian_standard(in[0], in[1], reduction);
  TRIFECTA_FAIL("nn_golden_test", "the golden file has a case for loss '", loss, "' that this test cannot run");
}

TEST(NnGolden, EveryLossMatchesPyTorch) {
  const std::vector<Json> cases = cases_of_kind("loss");
  ASSERT_GT(cases.size(), 30u);
  for (const Json& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    TensorList inputs;
    for (int64_t i = 0; i < c.at("inputs").get<int64_t>(); ++i) {
      Tensor t = golden().get(name + "/in" + std::to_string(i)).clone();
      if (golden().has(name + "/grad" + std::to_string(i))) t.requires_grad_();
      inputs.push_back(t);
    }
    const Tensor out = run_loss(c.at("loss").get<std::string>(), c.at("params"), inputs,
                                reduction_of(c.at("reduction").get<std::string>()));
    EXPECT_TRUE(tensors_close(out, golden().get(name + "/out"), kGoldenTolerance, name + " output"));
    sum(mul(out, golden().get(name + "/w"))).backward();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string key = name + "/grad" + std::to_string(i);
      if (!golden().has(key)) continue;
      ASSERT_TRUE(inputs[i].grad().defined()) << "input " << i << " got no gradient";
      EXPECT_TRUE(tensors_close(inputs[i].grad(), golden().get(key), kGoldenTolerance,
                                name + " gradient " + std::to_string(i)));
    }
  }
}

}  // namespace
}  // namespace trifecta::testing
