// Linear: parameters, PyTorch's default initialization, and the affine forward.
#include "nn/linear.h"

#include "nn/init.h"

namespace trifecta::nn {

Linear::Linear(int64_t in, int64_t out, bool with_bias, Generator* generator)
    : WeightedLayer("Linear"), in_features(in), out_features(out) {
  TRIFECTA_CHECK(in >= 0 && out >= 0, "Linear", "feature counts must be non-negative, got in_features ", in,
                 " and out_features ", out);
  weight = register_parameter("weight", empty({out, in}));
  if (with_bias) bias = register_parameter("bias", empty({out}));
  init::default_affine_init_(weight, bias, generator);
}

Tensor Linear::forward(const Tensor& x) {
  TRIFECTA_CHECK(x.defined() && x.ndim() >= 1 && x.size(-1) == in_features, "Linear",
                 "expected an input [..., ", in_features, "], got ", x.defined() ? x.str() : "an undefined tensor");
  const Tensor y = matmul(x, effective_weight().t());
  return bias.defined() ? add(y, bias) : y;
}

}  // namespace trifecta::nn
