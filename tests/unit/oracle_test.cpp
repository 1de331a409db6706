// The PyTorch oracle: tests/oracle/make_oracle.py (Debian's python3-torch) writes inputs, outputs and
// gradients of L = sum_k sum(out_k * w_k) for every op family and a small MLP; trifecta must reproduce them
// in float32, on the CPU and (when present) on the GPU. Outputs without a weight w_k (integer indices,
// updated running statistics) are compared as they are, integers exactly. CTest generates the file first
// (fixture oracle_generate) and passes its path in TRIFECTA_ORACLE.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "autograd/ops.h"
#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

using Params = Json;
using OracleOp = std::function<TensorList(const TensorList&, const Params&)>;

double param(const Params& p, const char* key) { return p.at(key).get<double>(); }
int64_t int_param(const Params& p, const char* key) { return p.at(key).get<int64_t>(); }
bool flag(const Params& p, const char* key) { return int_param(p, key) != 0; }
std::vector<int64_t> ints_param(const Params& p, const char* key) {
  std::vector<int64_t> values;
  for (const Json& v : p.at(key)) values.push_back(v.get<int64_t>());
  return values;
}
std::vector<int64_t> dims_param(const Params& p) { return ints_param(p, "dims"); }
bool keepdim(const Params& p) { return p.contains("keepdim") && flag(p, "keepdim"); }
Size2d size2d(const Params& p, const char* key) {
  const std::vector<int64_t> hw = ints_param(p, key);
  return {hw.at(0), hw.at(1)};
}
// The input at position i, or an undefined tensor (an absent optional argument) past the end.
Tensor optional_input(const TensorList& x, size_t i) { return i < x.size() ? x[i] : Tensor(); }

LossReduction reduction_param(const Params& p) {
  const std::string name = p.at("reduction").get<std::string>();
  if (name == "sum") return LossReduction::Sum;
  if (name == "none") return LossReduction::None;
  return LossReduction::Mean;
}

// Inputs x, then running mean and variance when params say "stats", then weight and bias when "affine".
// In training the updated running statistics are outputs too.
TensorList run_batch_norm(const TensorList& x, const Params& p) {
  size_t next = 1;
  Tensor running_mean, running_var, weight, bias;
  if (flag(p, "stats")) running_mean = x.at(next++), running_var = x.at(next++);
  if (flag(p, "affine")) weight = x.at(next++), bias = x.at(next++);
  const bool training = flag(p, "training");
  const Tensor y =
      batch_norm(x[0], running_mean, running_var, weight, bias, training, param(p, "momentum"), param(p, "eps"));
  if (training && running_mean.defined()) return {y, running_mean, running_var};
  return {y};
}

// x [16, 20] -> Linear(20, 32) -> ReLU -> Linear(32, 10) -> cross-entropy, with weights in PyTorch's
// [out, in] layout (so the products read transposed views).
TensorList run_mlp(const TensorList& x, const Params&) {
  const Tensor hidden = relu(add(matmul(x[0], x[1].t()), x[2]));
  return {cross_entropy(add(matmul(hidden, x[3].t()), x[4]), x[5])};
}

OracleOp unary(Tensor (*f)(const Tensor&)) {
  return [f](const TensorList& x, const Params&) { return TensorList{f(x[0])}; };
}
OracleOp binary(Tensor (*f)(const Tensor&, const Tensor&)) {
  return [f](const TensorList& x, const Params&) { return TensorList{f(x[0], x[1])}; };
}
OracleOp reduction(Tensor (*f)(const Tensor&, const std::vector<int64_t>&, bool)) {
  return [f](const TensorList& x, const Params& p) { return TensorList{f(x[0], dims_param(p), keepdim(p))}; };
}
OracleOp along_dim(Tensor (*f)(const Tensor&, int64_t)) {
  return [f](const TensorList& x, const Params& p) { return TensorList{f(x[0], int_param(p, "dim"))}; };
}
// Ops reading x at an index tensor (x, dim, index), and adding a source at one (x, dim, index, source).
OracleOp picking(Tensor (*f)(const Tensor&, int64_t, const Tensor&)) {
  return [f](const TensorList& x, const Params& p) { return TensorList{f(x[0], int_param(p, "dim"), x[1])}; };
}
OracleOp scattering(Tensor (*f)(const Tensor&, int64_t, const Tensor&, const Tensor&)) {
  return [f](const TensorList& x, const Params& p) { return TensorList{f(x[0], int_param(p, "dim"), x[1], x[2])}; };
}

const std::map<std::string, OracleOp>& oracle_ops() {
  static const std::map<std::string, OracleOp> ops = {
      {"exp", unary(&exp)}, {"tanh", unary(&tanh)}, {"sigmoid", unary(&sigmoid)}, {"relu", unary(&relu)},
      {"silu", unary(&silu)}, {"neg", unary(&neg)}, {"abs", unary(&abs)}, {"sin", unary(&sin)},
      {"cos", unary(&cos)}, {"square", unary(&square)}, {"expm1", unary(&expm1)}, {"log", unary(&log)},
      {"sqrt", unary(&sqrt)}, {"rsqrt", unary(&rsqrt)}, {"reciprocal", unary(&reciprocal)}, {"log1p", unary(&log1p)},
      {"gelu", [](const TensorList& x, const Params& p) { return TensorList{gelu(x[0], param(p, "tanh") != 0)}; }},
      {"softplus", [](const TensorList& x, const Params& p) {
         return TensorList{softplus(x[0], param(p, "beta"), param(p, "threshold"))};
       }},
      {"elu", [](const TensorList& x, const Params& p) { return TensorList{elu(x[0], param(p, "alpha"))}; }},
      {"leaky_relu", [](const TensorList& x, const Params& p) { return TensorList{leaky_relu(x[0], param(p, "slope"))}; }},
      {"clamp", [](const TensorList& x, const Params& p) { return TensorList{clamp(x[0], param(p, "min"), param(p, "max"))}; }},
      {"pow_scalar", [](const TensorList& x, const Params& p) { return TensorList{pow(x[0], param(p, "exponent"))}; }},
      {"add", binary(&add)}, {"sub", binary(&sub)}, {"mul", binary(&mul)}, {"div", binary(&div)},
      {"pow", binary(&pow)}, {"maximum", binary(&maximum)}, {"minimum", binary(&minimum)},
      {"where", [](const TensorList& x, const Params&) { return TensorList{where(x[0], x[1], x[2])}; }},
      {"masked_fill", [](const TensorList& x, const Params&) { return TensorList{masked_fill(x[0], x[1], x[2])}; }},
      {"sum", reduction(&sum)}, {"mean", reduction(&mean)}, {"amax", reduction(&amax)}, {"amin", reduction(&amin)},
      {"logsumexp", reduction(&logsumexp)},
      {"var", [](const TensorList& x, const Params& p) {
         return TensorList{var(x[0], dims_param(p), param(p, "correction"), keepdim(p))};
       }},
      {"matmul", [](const TensorList& x, const Params& p) {
         return TensorList{matmul(x[0], p.contains("transpose_b") ? x[1].transpose(-2, -1) : x[1])};
       }},
      {"softmax", along_dim(&softmax)}, {"log_softmax", along_dim(&log_softmax)},
      {"cross_entropy", [](const TensorList& x, const Params& p) {
         return TensorList{cross_entropy(x[0], x[1], param(p, "smoothing"), int_param(p, "ignore_index"), reduction_param(p))};
       }},
      {"layer_norm", [](const TensorList& x, const Params& p) {
         const Shape normalized(ints_param(p, "normalized"));
         return TensorList{layer_norm(x[0], normalized, optional_input(x, 1), optional_input(x, 2), param(p, "eps"))};
       }},
      {"batch_norm", &run_batch_norm},
      {"conv2d", [](const TensorList& x, const Params& p) {
         return TensorList{conv2d(x[0], x[1], optional_input(x, 2), size2d(p, "stride"), size2d(p, "padding"),
                                  size2d(p, "dilation"))};
       }},
      {"conv_transpose2d", [](const TensorList& x, const Params& p) {
         return TensorList{conv_transpose2d(x[0], x[1], optional_input(x, 2), size2d(p, "stride"), size2d(p, "padding"),
                                            size2d(p, "output_padding"), size2d(p, "dilation"))};
       }},
      {"max_pool2d", [](const TensorList& x, const Params& p) {
         return TensorList{max_pool2d(x[0], size2d(p, "kernel"), size2d(p, "stride"), size2d(p, "padding"),
                                      size2d(p, "dilation"))};
       }},
      {"max_pool2d_with_indices", [](const TensorList& x, const Params& p) {
         auto [values, positions] = max_pool2d_with_indices(x[0], size2d(p, "kernel"), size2d(p, "stride"),
                                                            size2d(p, "padding"), size2d(p, "dilation"));
         return TensorList{values, positions};
       }},
      {"avg_pool2d", [](const TensorList& x, const Params& p) {
         return TensorList{avg_pool2d(x[0], size2d(p, "kernel"), size2d(p, "stride"), size2d(p, "padding"),
                                      flag(p, "count_include_pad"))};
       }},
      {"embedding", [](const TensorList& x, const Params& p) {
         const auto padding = p.contains("padding_idx") ? std::optional(int_param(p, "padding_idx")) : std::nullopt;
         return TensorList{embedding(x[0], x[1], padding)};
       }},
      {"gather", picking(&gather)}, {"index_select", picking(&index_select)},
      {"index_add", scattering(&index_add)}, {"scatter_add", scattering(&scatter_add)},
      {"concat", [](const TensorList& x, const Params& p) { return TensorList{concat(x, int_param(p, "dim"))}; }},
      {"stack", [](const TensorList& x, const Params& p) { return TensorList{stack(x, int_param(p, "dim"))}; }},
      {"split", [](const TensorList& x, const Params& p) { return split(x[0], ints_param(p, "sizes"), int_param(p, "dim")); }},
      {"topk", [](const TensorList& x, const Params& p) {
         const TopkResult top = topk(x[0], int_param(p, "k"), int_param(p, "dim"), flag(p, "largest"));
         return TensorList{top.values, top.indices};
       }},
      {"dropout", [](const TensorList& x, const Params& p) {
         return TensorList{dropout(x[0], param(p, "p"), flag(p, "training"))};
       }},
      {"mlp", &run_mlp},
  };
  return ops;
}

const TensorFile& oracle() {
  static const TensorFile file = [] {
    const char* path = std::getenv("TRIFECTA_ORACLE");
    TRIFECTA_CHECK(path != nullptr, "oracle_test", "TRIFECTA_ORACLE is not set; run through ctest, which generates the file");
    return load_safetensors(path);
  }();
  return file;
}

constexpr Tolerance kOracleTolerance{1e-4, 2e-5};

// Runs every case of the oracle file on device (inputs copied there) and compares with PyTorch's results.
void check_every_case(Device device) {
  const Json cases = json::parse(oracle().metadata.at("cases"), "oracle metadata");
  ASSERT_GT(cases.size(), 100u);
  for (const Json& c : cases) {
    const std::string name = c.at("name").get<std::string>(), op = c.at("op").get<std::string>();
    SCOPED_TRACE(name + " on " + device.str());
    ASSERT_TRUE(oracle_ops().count(op)) << "the oracle has a case for op '" << op << "' that this test cannot run";
    TensorList inputs;
    for (int64_t i = 0; i < c.at("inputs").get<int64_t>(); ++i) {
      Tensor t = oracle().get(name + "/in" + std::to_string(i)).clone().to(device);
      if (oracle().has(name + "/grad" + std::to_string(i))) t.requires_grad_();
      inputs.push_back(t);
    }
    const TensorList outputs = oracle_ops().at(op)(inputs, c.at("params"));
    ASSERT_EQ(static_cast<int64_t>(outputs.size()), c.at("outputs").get<int64_t>());
    Tensor loss;
    for (size_t k = 0; k < outputs.size(); ++k) {
      const Tensor expected = oracle().get(name + "/out" + std::to_string(k));
      ASSERT_EQ(outputs[k].dtype(), expected.dtype()) << name << " output " << k;
      const Tolerance tolerance = is_floating(expected.dtype()) ? kOracleTolerance : Tolerance{0.0, 0.0};
      EXPECT_TRUE(tensors_close(outputs[k], expected, tolerance, name + " output " + std::to_string(k)));
      const std::string weight = name + "/w" + std::to_string(k);
      if (!oracle().has(weight)) continue;
      const Tensor term = sum(mul(outputs[k], oracle().get(weight).to(device)));
      loss = loss.defined() ? add(loss, term) : term;
    }
    ASSERT_TRUE(loss.defined()) << name << ": no output carries a gradient";
    loss.backward();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string key = name + "/grad" + std::to_string(i);
      if (!oracle().has(key)) continue;
      ASSERT_TRUE(inputs[i].grad().defined()) << name << ": input " << i << " got no gradient";
      EXPECT_TRUE(tensors_close(inputs[i].grad(), oracle().get(key), kOracleTolerance, name + " gradient " + std::to_string(i)));
    }
  }
}

TEST(Oracle, EveryCaseMatchesPyTorchOnCpu) { check_every_case(kCPU); }

TEST(Oracle, EveryCaseMatchesPyTorchOnCuda) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device";
  check_every_case(kCUDA);
}

}  // namespace
}  // namespace trifecta::testing
