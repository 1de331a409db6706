// nn::Module bookkeeping: registration and dotted names, PyTorch's state dict order, load_state_dict and its
// errors, train/eval propagation, dtype moves, and Sequential's naming and chaining.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "nn/nn.h"

namespace trifecta::nn {
namespace {

std::vector<std::string> names(const NamedTensors& tensors) {
  std::vector<std::string> out;
  for (const auto& [name, t] : tensors) out.push_back(name);
  return out;
}

// A module with its own parameter and buffer and two levels of children, registered in a mixed order.
class Block : public UnaryModule {
 public:
  Block() : UnaryModule("Block") {
    scale = register_parameter("scale", ones({3}));
    inner = register_module("inner", std::make_shared<Linear>(3, 3));
    count = register_buffer("count", zeros({}, DType::Int64));
    norm = register_module("norm", std::make_shared<BatchNorm1d>(3));
  }
  Tensor forward(const Tensor& x) override { return norm->forward(inner->forward(mul(x, scale))); }

  Tensor scale, count;
  std::shared_ptr<Linear> inner;
  std::shared_ptr<BatchNorm1d> norm;
};

TEST(NnModule, NamesAreDottedAndStateDictFollowsPyTorchOrder) {
  Block block;
  // A module's own parameters, then its own buffers, then each child in registration order.
  EXPECT_EQ(names(block.state_dict()),
            (std::vector<std::string>{"scale", "count", "inner.weight", "inner.bias", "norm.weight", "norm.bias",
                                      "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"}));
  EXPECT_EQ(names(block.named_parameters()),
            (std::vector<std::string>{"scale", "inner.weight", "inner.bias", "norm.weight", "norm.bias"}));
  EXPECT_EQ(names(block.named_buffers()),
            (std::vector<std::string>{"count", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"}));
  EXPECT_EQ(block.num_parameters(), 3 + 9 + 3 + 3 + 3);
  for (const Tensor& p : block.parameters()) EXPECT_TRUE(p.requires_grad() && p.is_leaf());
  EXPECT_FALSE(block.count.requires_grad());
  EXPECT_EQ(block.named_children().size(), 2u);
  const std::string description = block.describe();
  EXPECT_NE(description.find("inner (Linear) weight[3, 3] bias[3]"), std::string::npos) << description;
}

TEST(NnModule, StateDictHandlesShareTheModulesTensors) {
  Linear layer(2, 2);
  const NamedTensors state = layer.state_dict();
  EXPECT_TRUE(state[0].second.same(layer.weight));
  EXPECT_TRUE(state[1].second.same(layer.bias));
}

class Registrar : public Module {
 public:
  Registrar() : Module("Registrar") { register_parameter("w", zeros({2})); }
};

TEST(NnModule, RegistrationErrorsNameTheMember) {
  Registrar m;
  EXPECT_THROW(m.register_parameter("w", zeros({2})), Error);         // taken by a parameter
  EXPECT_THROW(m.register_buffer("w", zeros({2})), Error);            // names are shared by all kinds
  EXPECT_THROW(m.register_parameter("a.b", zeros({2})), Error);       // dots separate levels
  EXPECT_THROW(m.register_parameter("", zeros({2})), Error);
  EXPECT_THROW(m.register_parameter("i", zeros({2}, DType::Int64)), Error);  // parameters are floating
  EXPECT_THROW(m.register_buffer("b", Tensor()), Error);
  EXPECT_THROW(m.unregister_parameter("missing"), Error);
  try {
    m.register_parameter("w", zeros({2}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'w'"), std::string::npos) << e.what();
  }
}

TEST(NnModule, UnregisterKeepsTheTensorAndFreesTheName) {
  Linear layer(2, 3);
  const Tensor weight = layer.unregister_parameter("weight");
  EXPECT_TRUE(weight.same(layer.weight));
  EXPECT_EQ(names(layer.state_dict()), (std::vector<std::string>{"bias"}));
  layer.register_parameter("weight", weight);
  EXPECT_EQ(names(layer.state_dict()), (std::vector<std::string>{"bias", "weight"}));
}

TEST(NnModule, LoadStateDictCopiesValuesConvertingDtype) {
  Block source, target;
  {
    NoGradGuard no_grad;
    fill_(source.scale, 2.5);
    fill_(source.norm->running_var, 4.0);
    fill_(source.count, 7);
  }
  NamedTensors state = source.state_dict();
  state[2].second = state[2].second.to(DType::Float64);  // inner.weight arrives as float64
  target.load_state_dict(state);
  const NamedTensors loaded = target.state_dict(), original = source.state_dict();
  for (size_t i = 0; i < loaded.size(); ++i) {
    SCOPED_TRACE(loaded[i].first);
    EXPECT_FALSE(loaded[i].second.same(original[i].second));  // values are copied, not shared
    EXPECT_EQ(loaded[i].second.to(DType::Float64).to_vector<double>(),
              original[i].second.to(DType::Float64).to_vector<double>());
  }
  EXPECT_EQ(target.inner->weight.dtype(), DType::Float32);  // the module keeps its dtype
  EXPECT_EQ(target.count.item<int64_t>(), 7);
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(NnModule, LoadStateDictErrorsNameTheTensor) {
  Linear layer(3, 2);
  NamedTensors state = layer.state_dict();

  NamedTensors missing{state[0]};
  std::string message = error_of([&] { layer.load_state_dict(missing); });
  EXPECT_NE(message.find("'bias' is missing"), std::string::npos) << message;
  EXPECT_NO_THROW(layer.load_state_dict(missing, /*strict=*/false));

  NamedTensors unexpected = state;
  unexpected.emplace_back("extra", zeros({1}));
  message = error_of([&] { layer.load_state_dict(unexpected); });
  EXPECT_NE(message.find("unexpected entry 'extra'"), std::string::npos) << message;
  EXPECT_NO_THROW(layer.load_state_dict(unexpected, /*strict=*/false));

  NamedTensors wrong_shape = state;
  wrong_shape[0].second = zeros({2, 4});
  for (bool strict : {true, false}) {
    message = error_of([&] { layer.load_state_dict(wrong_shape, strict); });
    EXPECT_NE(message.find("'weight' has shape [2, 4] in the state but [2, 3] in the module"), std::string::npos)
        << message;
  }
}

// Every entry is checked before any is copied: a state that fails late in its order (here the last
// buffers) used to leave the earlier parameters overwritten, a half-loaded model.
TEST(NnModule, AFailedLoadChangesNothing) {
  Block source, target;
  {
    NoGradGuard no_grad;
    for (const auto& [name, t] : source.state_dict())
      if (is_floating(t.dtype())) copy_(t, add(rand(t.shape()), 5.0));
  }
  const auto snapshot = [&] {
    std::vector<std::vector<double>> values;
    for (const auto& [name, t] : target.state_dict()) values.push_back(t.to(DType::Float64).to_vector<double>());
    return values;
  };
  const std::vector<std::vector<double>> before = snapshot();
  const NamedTensors good = source.state_dict();
  ASSERT_EQ(good.back().first, "norm.num_batches_tracked");
  const auto with_last = [&](const Tensor& last) {
    NamedTensors state = good;
    state.back().second = last;
    return state;
  };
  const size_t running_var = good.size() - 2;
  ASSERT_EQ(good[running_var].first, "norm.running_var");
  NamedTensors bad_shape = good;
  bad_shape[running_var].second = ones({4});
  NamedTensors twice = good;
  twice.push_back(good.back());
  NamedTensors undefined = good;
  undefined.emplace_back("extra", Tensor());
  NamedTensors missing_last = good;
  missing_last.pop_back();

  const std::vector<std::pair<NamedTensors, std::string>> failures = {
      {bad_shape, "'norm.running_var' has shape [4] in the state but [3] in the module"},
      {with_last(zeros({}, DType::Float32)), "'norm.num_batches_tracked' has dtype float32 in the state but int64"},
      {with_last(zeros({2}, DType::Int64)), "'norm.num_batches_tracked' has shape [2]"},
      {twice, "entry 'norm.num_batches_tracked' appears twice"},
      {undefined, "entry 'extra' is undefined"},
      {missing_last, "'norm.num_batches_tracked' is missing"}};
  for (const auto& [state, expected] : failures) {
    SCOPED_TRACE(expected);
    const std::string message = error_of([&] { target.load_state_dict(state); });
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_EQ(snapshot(), before) << "the module changed although the load failed";
  }
  target.load_state_dict(good);
  EXPECT_NE(snapshot(), before);
  EXPECT_EQ(target.inner->weight.to_vector<float>(), source.inner->weight.to_vector<float>());
}

TEST(NnModule, TrainAndEvalReachEveryDescendant) {
  auto block = std::make_shared<Block>();
  Sequential outer{block, std::make_shared<ReLU>()};
  EXPECT_TRUE(outer.is_training() && block->inner->is_training());
  outer.eval();
  EXPECT_FALSE(outer.is_training());
  EXPECT_FALSE(block->is_training());
  EXPECT_FALSE(block->norm->is_training());
  EXPECT_FALSE(outer[1].is_training());
  outer.train();
  EXPECT_TRUE(block->norm->is_training() && block->inner->is_training());
}

TEST(NnModule, ToDtypeConvertsFloatingStateInPlace) {
  Block block;
  const Tensor weight_handle = block.inner->weight;
  sum(block.forward(rand({4, 3}))).backward();
  ASSERT_TRUE(weight_handle.grad().defined());
  block.to(DType::Float64);
  EXPECT_EQ(weight_handle.dtype(), DType::Float64);  // handles taken earlier see the move
  EXPECT_EQ(weight_handle.grad().dtype(), DType::Float64);
  EXPECT_TRUE(weight_handle.requires_grad());
  EXPECT_EQ(block.norm->running_mean.dtype(), DType::Float64);
  EXPECT_EQ(block.norm->num_batches_tracked.dtype(), DType::Int64);  // counters keep their type
  EXPECT_EQ(block.count.dtype(), DType::Int64);
  const Tensor y = block.forward(rand({4, 3}, DType::Float64));
  EXPECT_EQ(y.dtype(), DType::Float64);
  block.zero_grad();
  EXPECT_FALSE(weight_handle.grad().defined());
}

TEST(NnSequential, ChildrenAreNumberedAndChained) {
  Generator g(3);
  Sequential seq;
  auto first = seq.push_back(std::make_shared<Linear>(4, 3, true, &g));
  seq.push_back(std::make_shared<Tanh>());
  auto last = seq.push_back(std::make_shared<Linear>(3, 2, false, &g));
  EXPECT_EQ(seq.size(), 3u);
  EXPECT_EQ(names(seq.state_dict()), (std::vector<std::string>{"0.weight", "0.bias", "2.weight"}));
  const Tensor x = rand({5, 4}, {}, &g);
  const Tensor expected = last->forward(tanh(first->forward(x)));
  EXPECT_EQ(seq.forward(x).to_vector<float>(), expected.to_vector<float>());
  EXPECT_EQ(&seq[0], first.get());
  EXPECT_THROW(seq[3], Error);
  EXPECT_THROW(seq.push_back(std::shared_ptr<ReLU>()), Error);
}

TEST(NnSequential, NestsAndTheEmptyChainIsTheIdentity) {
  Sequential empty;
  const Tensor x = rand({2, 3});
  EXPECT_TRUE(empty.forward(x).same(x));
  auto inner = std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<UnaryModule>>{
      std::make_shared<Linear>(3, 3), std::make_shared<BatchNorm1d>(3)});
  Sequential outer{std::make_shared<Linear>(3, 3), inner};
  EXPECT_EQ(names(outer.state_dict()),
            (std::vector<std::string>{"0.weight", "0.bias", "1.0.weight", "1.0.bias", "1.1.weight", "1.1.bias",
                                      "1.1.running_mean", "1.1.running_var", "1.1.num_batches_tracked"}));
  EXPECT_EQ(outer.forward(x).shape(), (Shape{2, 3}));
}

}  // namespace
}  // namespace trifecta::nn
