// The PyTorch oracle: tests/oracle/make_oracle.py (Debian's python3-torch) writes inputs, outputs and
// gradients of L = sum(out * w) for a set of ops and a small network; trifecta must reproduce them in
// float32. CTest generates the file first (fixture oracle_generate) and passes its path in TRIFECTA_ORACLE.
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>

#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

using Params = Json;
using OracleOp = std::function<TensorList(const TensorList&, const Params&)>;

double param(const Params& p, const char* key) { return p.at(key, "oracle params").as_number("oracle params"); }
std::vector<int64_t> dims_param(const Params& p) {
  std::vector<int64_t> dims;
  for (const Json& d : p.at("dims", "oracle params").as_array("oracle params")) dims.push_back(d.as_int("oracle dims"));
  return dims;
}
bool keepdim(const Params& p) { return p.contains("keepdim") && param(p, "keepdim") != 0; }

OracleOp unary(Tensor (*f)(const Tensor&)) {
  return [f](const TensorList& x, const Params&) { return TensorList{f(x[0])}; };
}
OracleOp binary(Tensor (*f)(const Tensor&, const Tensor&)) {
  return [f](const TensorList& x, const Params&) { return TensorList{f(x[0], x[1])}; };
}
OracleOp reduction(Tensor (*f)(const Tensor&, const std::vector<int64_t>&, bool)) {
  return [f](const TensorList& x, const Params& p) { return TensorList{f(x[0], dims_param(p), keepdim(p))}; };
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
      {"sum", reduction(&sum)}, {"mean", reduction(&mean)}, {"amax", reduction(&amax)}, {"amin", reduction(&amin)},
      {"logsumexp", reduction(&logsumexp)},
      {"var", [](const TensorList& x, const Params& p) {
         return TensorList{var(x[0], dims_param(p), param(p, "correction"), keepdim(p))};
       }},
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

TEST(Oracle, EveryCaseMatchesPyTorch) {
  const Json cases = Json::parse(oracle().metadata.at("cases"), "oracle metadata");
  ASSERT_GT(cases.as_array("cases").size(), 30u);
  for (const Json& c : cases.as_array("cases")) {
    const std::string name = c.at("name", "case").as_string("name"), op = c.at("op", "case").as_string("op");
    SCOPED_TRACE(name);
    ASSERT_TRUE(oracle_ops().count(op)) << "the oracle has a case for op '" << op << "' that this test cannot run";
    TensorList inputs;
    for (int64_t i = 0; i < c.at("inputs", "case").as_int("inputs"); ++i) {
      Tensor t = oracle().get(name + "/in" + std::to_string(i)).clone();
      if (oracle().has(name + "/grad" + std::to_string(i))) t.requires_grad_();
      inputs.push_back(t);
    }
    const TensorList outputs = oracle_ops().at(op)(inputs, c.at("params", "case"));
    ASSERT_EQ(static_cast<int64_t>(outputs.size()), c.at("outputs", "case").as_int("outputs"));
    Tensor loss;
    for (size_t k = 0; k < outputs.size(); ++k) {
      EXPECT_TRUE(tensors_close(outputs[k], oracle().get(name + "/out" + std::to_string(k)), kOracleTolerance,
                                name + " output " + std::to_string(k)));
      const Tensor term = sum(mul(outputs[k], oracle().get(name + "/w" + std::to_string(k))));
      loss = loss.defined() ? add(loss, term) : term;
    }
    loss.backward();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string key = name + "/grad" + std::to_string(i);
      if (!oracle().has(key)) continue;
      ASSERT_TRUE(inputs[i].grad().defined()) << name << ": input " << i << " got no gradient";
      EXPECT_TRUE(tensors_close(inputs[i].grad(), oracle().get(key), kOracleTolerance, name + " gradient " + std::to_string(i)));
    }
  }
}

}  // namespace
}  // namespace trifecta::testing
