// Fills: constants, ranges and random draws. Random kernels take (seed, offset) from a Generator and give
// element i the Philox counter offset + i, so a draw does not depend on the device or the thread layout.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace trifecta {

// out may have any strides.
using FillKernel = void(const Tensor& out, double value);
// The rest write a contiguous out.
using ArangeKernel = void(const Tensor& out, double start, double step);
using UniformKernel = void(const Tensor& out, uint64_t seed, uint64_t offset, double low, double high);
using NormalKernel = void(const Tensor& out, uint64_t seed, uint64_t offset, double mean, double std);
// out[i] = 1 with probability probs[i]; probs contiguous, out's shape, on out's device.
using BernoulliKernel = void(const Tensor& out, const Tensor& probs, uint64_t seed, uint64_t offset);

}  // namespace trifecta
