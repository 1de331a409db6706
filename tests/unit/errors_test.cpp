// Every misuse throws trifecta::Error with a message that names the op and the offending shapes, dtypes,
// devices or values; nothing crashes and no other exception type escapes. Each check asserts the pieces of
// the message a user needs to find the mistake.
#include <gtest/gtest.h>

#include <limits>

#include "autograd/ops.h"
#include "tests/harness/expect_error.h"

namespace trifecta {
namespace {

using testing::error_message;

TEST(Errors, ShapeMismatchNamesTheOpAndBothShapes) {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  EXPECT_ERROR_CONTAINS(add(a, b), "add: ", "[2, 3]", "[4]", "cannot be broadcast", "dim 1: 3 vs 4");
  EXPECT_ERROR_CONTAINS(mul(zeros({5, 1, 3}), zeros({2, 2})), "mul: ", "[5, 1, 3]", "[2, 2]");
  EXPECT_ERROR_CONTAINS(where(zeros({2}, DType::Bool), zeros({3}), zeros({3})), "where", "[2]", "[3]");
  EXPECT_ERROR_CONTAINS(add_(zeros({3}), zeros({2, 3})), "add_", "[2, 3]", "does not broadcast to [3]");
  EXPECT_ERROR_CONTAINS(copy_(zeros({3}), zeros({2, 3})), "copy", "source of shape [2, 3]",
                        "destination shape [3]");
}

TEST(Errors, DtypeMismatchNamesTheOpAndBothDtypes) {
  // Mixed dtypes promote as in PyTorch (tests/unit/type_promotion_test.cpp); what cannot is refused.
  const Tensor a = zeros({2}, DType::Float32), i = zeros({2}, DType::Int64);
  EXPECT_ERROR_CONTAINS(sub_(i, a), "sub_", "float32", "int64[2] cpu", "cannot be stored");
  EXPECT_ERROR_CONTAINS(add(zeros({2}, DType::Bool), zeros({2}, DType::Bool)), "add: ", "dtype bool is not supported");
  EXPECT_ERROR_CONTAINS(where(zeros({2}), a, a), "where", "condition must be a bool tensor", "float32[2] cpu");
  EXPECT_ERROR_CONTAINS(mean(arange(4)), "mean", "floating dtype", "int64");
  EXPECT_ERROR_CONTAINS(var(arange(4)), "var", "floating dtype", "int64");
  EXPECT_ERROR_CONTAINS(trifecta::std(arange(4)), "std", "floating dtype", "int64");
  EXPECT_ERROR_CONTAINS(gelu(arange(4)), "gelu", "dtype int64 is not supported");
  EXPECT_ERROR_CONTAINS(argmax(zeros({3}, DType::Bool), 0), "argmax", "bool");
  EXPECT_ERROR_CONTAINS(uniform({2}, 0, 1, DType::Int32), "uniform", "dtype int32 is not supported");
  EXPECT_ERROR_CONTAINS(bernoulli(arange(3)), "bernoulli", "probabilities must be floating", "int64");
}

TEST(Errors, DeviceMismatchNamesTheOpAndBothDevices) {
  if (!cuda_available()) GTEST_SKIP() << "needs a CUDA device to make tensors on two devices";
  const Tensor a = zeros({2}), b = zeros({2}, kCUDA);
  EXPECT_ERROR_CONTAINS(add(a, b), "add: ", "different devices", "float32[2] cpu", "float32[2] cuda:0");
  EXPECT_ERROR_CONTAINS(where(zeros({2}, DType::Bool), b, b), "where", "condition on cpu", "values on cuda:0");
}

TEST(Errors, AskingForACudaTensorWithoutCudaSaysWhy) {
  // cuda:99 does not exist on any machine: a CPU-only build says CUDA is not compiled in, a CUDA build says
  // how many devices it sees.
  const std::string missing = error_message([] { zeros({2}, Device(DeviceType::CUDA, 99)); });
  if (cuda_compiled()) {
    EXPECT_NE(missing.find("device cuda:99 does not exist"), std::string::npos) << missing;
    EXPECT_NE(missing.find("CUDA devices visible"), std::string::npos) << missing;
  } else {
    EXPECT_NE(missing.find("no CUDA backend"), std::string::npos) << missing;
    EXPECT_NE(missing.find("-DTRIFECTA_CUDA=ON"), std::string::npos) << missing;
  }
  if (cuda_available()) return;  // the rest is about machines without a GPU
  const Tensor x = ones({3});
  for (const std::string& message : {error_message([&] { x.to(kCUDA); }), error_message([] { zeros({2}, kCUDA); })}) {
    EXPECT_NE(message.find("cuda"), std::string::npos) << message;
    EXPECT_TRUE(message.find("no CUDA backend") != std::string::npos ||
                message.find("0 CUDA devices visible") != std::string::npos)
        << message;
  }
  EXPECT_FALSE(cuda_available());
}

TEST(Errors, BadDimNamesTheOpTheDimAndTheRank) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(sum(x, {2}), "sum: ", "dim 2 is out of range for a tensor of 2 dimensions");
  EXPECT_ERROR_CONTAINS(mean(x, {-3}), "mean: ", "dim -3");
  EXPECT_ERROR_CONTAINS(sum(x, {0, -2}), "sum: ", "listed twice");
  EXPECT_ERROR_CONTAINS(argmax(x, 5), "argmax: ", "dim 5");
  EXPECT_ERROR_CONTAINS(sum(scalar_tensor(1.0), {1}), "sum: ", "dim 1", "0 dimensions");
  EXPECT_ERROR_CONTAINS(x.transpose(0, 2), "transpose", "dim 2");
  EXPECT_ERROR_CONTAINS(x.select(-3, 0), "select", "dim -3");
  EXPECT_ERROR_CONTAINS(x.squeeze(4), "squeeze", "dim 4");
  EXPECT_ERROR_CONTAINS(amax(zeros({0, 3})), "amax", "cannot reduce over the empty dim 0", "[0, 3]");
  EXPECT_ERROR_CONTAINS(argmin(zeros({0})), "argmin", "empty");
}

TEST(Errors, BadReshapeNamesTheShapeAndElementCount) {
  const Tensor x = zeros({2, 3});
  EXPECT_ERROR_CONTAINS(x.reshape({4, 4}), "reshape: ", "shape [4, 4] is invalid for 6 elements");
  EXPECT_ERROR_CONTAINS(x.view({7}), "view: ", "[7]", "6 elements");
  EXPECT_ERROR_CONTAINS(x.reshape({-1, 4}), "reshape: ", "[-1, 4]", "6 elements");
  EXPECT_ERROR_CONTAINS(x.t().view({6}), "view: ", "incompatible with the strides", "use reshape");
  EXPECT_ERROR_CONTAINS(x.expand({3, 3}), "expand: ", "cannot expand [2, 3] to [3, 3]");
}

TEST(Errors, UnknownDeviceStringIsNamed) {
  for (const char* text : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", "cuda:1a", "cuda:99999999999999999999"}) {
    SCOPED_TRACE(text);
    EXPECT_ERROR_CONTAINS(Device::parse(text), "device: ", "cannot parse '", text, "expected cpu, cuda or cuda:N");
  }
  EXPECT_EQ(Device::parse("cpu"), kCPU);
  EXPECT_EQ(Device::parse("cuda"), kCUDA);
  EXPECT_EQ(Device::parse("cuda:3"), Device(DeviceType::CUDA, 3));
  EXPECT_EQ(Device::parse("cuda:3").str(), "cuda:3");
}

TEST(Errors, BadValuesNameTheOpAndTheValue) {
  EXPECT_ERROR_CONTAINS(arange(0, 5, 0), "arange", "step must be nonzero");
  EXPECT_ERROR_CONTAINS(arange(0, std::numeric_limits<double>::infinity(), 1), "arange", "finite");
  EXPECT_ERROR_CONTAINS(uniform({2}, 2.0, 1.0), "uniform", "low (2) must not exceed high (1)");
  EXPECT_ERROR_CONTAINS(normal({2}, 0.0, -1.0), "normal", "std must be non-negative, got -1");
  EXPECT_ERROR_CONTAINS(bernoulli({2}, 1.5), "bernoulli", "p must be in [0, 1], got 1.5");
  EXPECT_ERROR_CONTAINS(softplus(zeros({2}), 0.0), "softplus", "beta must be positive");
  EXPECT_ERROR_CONTAINS(empty({3, -2}), "empty", "negative dimension", "[3, -2]");
  EXPECT_ERROR_CONTAINS(add(Tensor(), zeros({2})), "add", "undefined");
  EXPECT_ERROR_CONTAINS(sum(Tensor()), "sum", "undefined");
}

}  // namespace
}  // namespace trifecta
