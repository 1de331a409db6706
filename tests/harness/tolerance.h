// Every numerical tolerance the op tests use, in one place. A comparison passes when
//   |actual - expected| <= atol + rtol * |expected| + max_rel * max_i |expected_i|
// for every element (NaN must meet NaN, an infinity the same infinity). The last term is for errors that
// scale with the size of the whole tensor rather than of each element: an element that is a near-cancelling
// sum of large terms is only as accurate as the terms are large.
#pragma once

#include "tensor/dtype.h"

namespace trifecta::testing {

struct Tolerance {
  double rtol;
  double atol;
  double max_rel = 0.0;
  Tolerance scaled(double factor) const { return {rtol * factor, atol * factor, max_rel * factor}; }
};

// The unit roundoff of a floating dtype: half the gap between 1 and the next number, the largest relative
// error of rounding a real number to it (2^-8 for bfloat16, 2^-11 for float16, 2^-24 for float32).
inline double unit_roundoff(DType dtype) {
  switch (dtype) {
    case DType::Float64: return 0x1p-53;
    case DType::Float32: return 0x1p-24;
    case DType::BFloat16: return 0x1p-8;
    case DType::Float16: return 0x1p-11;
    default: return 0.0;  // integers and bools are exact
  }
}

// An op computed in dtype against the float64 reference on the same (rounded) inputs. float32 and float64
// allow for long sums and transcendental functions. A 16-bit op computes in float32 and rounds its result
// once (u); the budget of 4u relative to the element and to the tensor's largest element leaves room for
// the roundings of composite ops' intermediate results and no more.
inline Tolerance reference_tolerance(DType dtype) {
  switch (dtype) {
    case DType::Float64: return {1e-10, 1e-12};
    case DType::Float32: return {1e-4, 1e-5};
    case DType::BFloat16:
    case DType::Float16: return {4 * unit_roundoff(dtype), 0.0, 4 * unit_roundoff(dtype)};
    default: return {0.0, 0.0};
  }
}

// Gradients computed in dtype (from the same rounded inputs and output weights) against float64 gradients.
// A backward pass chains several roundings (the incoming gradient, intermediate results of composite rules,
// the result), each relative to its own magnitude, hence a budget of 8u relative to the element and to the
// largest gradient element. float32 sums thousands of terms in some backward passes (a reduction's
// broadcast, a weight gradient over the batch): its u is tiny, and 64u is still 4e-6.
inline Tolerance gradient_tolerance(DType dtype) {
  const double u = unit_roundoff(dtype);
  if (dtype == DType::Float32) return {64 * u, 0.0, 64 * u};
  return {8 * u, 0.0, 8 * u};
}

// CUDA against CPU on the same inputs: both compute in the same precision but may differ in summation
// order and in the last ulps of transcendental functions (CUDA's expf is within 2 ulp).
inline Tolerance cross_device_tolerance(DType dtype) {
  switch (dtype) {
    case DType::Float64: return {1e-11, 1e-12};
    case DType::Float32: return {2e-5, 1e-5};
    case DType::BFloat16: return {1.6e-2, 1e-2};
    case DType::Float16: return {2e-3, 2e-3};
    default: return {0.0, 0.0};
  }
}

// Gradcheck: analytic gradient against central finite differences of the float64 op with step kStep
// (times the input's distance from its domain's centre, when that exceeds 1: a value at 1e4 +- 1 is probed
// on the scale of its spread, not of its size). Truncation error is O(step^2 * f''') and rounding error
// O(eps * |L| / step); both sit far below these.
inline constexpr double kGradcheckStep = 1e-6;
inline constexpr Tolerance kGradcheckTolerance{1e-5, 1e-6};
// A point where the one-sided differences disagree by more than this (relative) lies on a kink (relu at 0,
// a tie in max) and is skipped.
inline constexpr double kKinkThreshold = 1e-3;

}  // namespace trifecta::testing
