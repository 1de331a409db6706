// Loss functions.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace trifecta {

// How per-sample losses become the result: their mean (over the samples that count), their sum, or none
// (one loss per sample).
enum class LossReduction : uint8_t { Mean, Sum, None };

// Cross-entropy between logits [N, C] (or [C] for one sample) and class targets [N] (or []) of dtype int64,
// with PyTorch's semantics: loss_i = (1 - eps) * (-log p_{i,t_i}) + eps / C * sum_c (-log p_{i,c}) where
// p = softmax(logits) and eps = label_smoothing in [0, 1]. Samples whose target is ignore_index contribute 0,
// and Mean divides by the number of the other samples (NaN when every sample is ignored). Any other target
// outside [0, C) is an error.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing = 0.0,
                     int64_t ignore_index = -100, LossReduction reduction = LossReduction::Mean);

}  // namespace trifecta
