// Normalization layers: parameters, buffers and the choice between batch and running statistics.
#include "nn/norm.h"

#include <algorithm>

namespace trifecta::nn {

BatchNorm::BatchNorm(const char* type_name, int64_t features, BatchNormOptions opts, std::vector<int> ranks,
                     const char* expected_input)
    : UnaryModule(type_name), num_features(features), options(opts), ranks_(std::move(ranks)),
      expected_input_(expected_input) {
  TRIFECTA_CHECK(features > 0, type_name, "num_features must be positive, got ", features);
  TRIFECTA_CHECK(opts.eps > 0, type_name, "eps must be positive, got ", opts.eps);
  TRIFECTA_CHECK(!opts.momentum || (*opts.momentum >= 0 && *opts.momentum <= 1), type_name,
                 "momentum must lie in [0, 1], got ", opts.momentum.value_or(0.0));
  if (opts.affine) {
    weight = register_parameter("weight", ones({features}));
    bias = register_parameter("bias", zeros({features}));
  }
  if (opts.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({features}));
    running_var = register_buffer("running_var", ones({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::Int64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  TRIFECTA_CHECK(x.defined() && std::find(ranks_.begin(), ranks_.end(), x.ndim()) != ranks_.end() &&
                     x.size(1) == num_features,
                 type_name(), "expected an input ", expected_input_, " with C = ", num_features, ", got ",
                 x.defined() ? x.str() : "an undefined tensor");
  const bool tracking = options.track_running_stats;
  const bool update = is_training() && tracking;
  // The cumulative average weighs this batch by 1 / (batches seen, this one included); reading the counter
  // back is a device synchronization on CUDA, paid only without a momentum.
  const double momentum = options.momentum || !update
                              ? options.momentum.value_or(0.0)
                              : 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>() + 1);
  // Without running statistics both modes normalize by the batch (the op then updates nothing).
  const Tensor y = batch_norm(x, tracking ? running_mean : Tensor(), tracking ? running_var : Tensor(), weight, bias,
                              is_training() || !tracking, momentum, options.eps);
  // Counted once the op has accepted the batch, so a rejected batch leaves the state as it was.
  if (update) {
    NoGradGuard no_grad;
    add_(num_batches_tracked, ones({}, {DType::Int64, num_batches_tracked.device()}));
  }
  return y;
}

BatchNorm1d::BatchNorm1d(int64_t features, BatchNormOptions opts)
    : BatchNorm("BatchNorm1d", features, opts, {2, 3}, "[N, C] or [N, C, L]") {}

BatchNorm2d::BatchNorm2d(int64_t features, BatchNormOptions opts)
    : BatchNorm("BatchNorm2d", features, opts, {4}, "[N, C, H, W]") {}

LayerNorm::LayerNorm(Shape shape, LayerNormOptions opts)
    : UnaryModule("LayerNorm"), normalized_shape(shape), options(opts) {
  TRIFECTA_CHECK(!shape.empty(), "LayerNorm", "normalized_shape must have at least one dim");
  for (int64_t d : shape) TRIFECTA_CHECK(d > 0, "LayerNorm", "normalized_shape must be positive, got ", shape.str());
  TRIFECTA_CHECK(opts.eps > 0, "LayerNorm", "eps must be positive, got ", opts.eps);
  if (opts.elementwise_affine) {
    weight = register_parameter("weight", ones(shape));
    if (opts.bias) bias = register_parameter("bias", zeros(shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, normalized_shape, weight, bias, options.eps);
}

}  // namespace trifecta::nn
