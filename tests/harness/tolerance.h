// Every numerical tolerance the op tests use, in one place. A comparison passes when
// |actual - expected| <= atol + rtol * |expected| for every element (NaN must meet NaN).
#pragma once

#include "tensor/dtype.h"

namespace trifecta::testing {

struct Tolerance {
  double rtol;
  double atol;
  Tolerance scaled(double factor) const { return {rtol * factor, atol * factor}; }
};

// An op computed in dtype against the float64 reference on the same (rounded) inputs. The 16-bit types
// round their result once (bfloat16 keeps 8 significant bits, float16 11), which dominates their budget.
inline Tolerance reference_tolerance(DType dtype) {
  switch (dtype) {
    case DType::Float64: return {1e-10, 1e-12};
    case DType::Float32: return {1e-4, 1e-5};
    case DType::BFloat16: return {2e-2, 2e-2};
    case DType::Float16: return {4e-3, 4e-3};
    default: return {0.0, 0.0};  // integers and bools are exact
  }
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

// Gradcheck: analytic gradient against central finite differences of the float64 op with step kStep.
// Truncation error is O(step^2 * f''') and rounding error O(eps * |L| / step); both sit far below these.
inline constexpr double kGradcheckStep = 1e-6;
inline constexpr Tolerance kGradcheckTolerance{1e-5, 1e-6};
// A point where the one-sided differences disagree by more than this (relative) lies on a kink (relu at 0,
// a tie in max) and is skipped.
inline constexpr double kKinkThreshold = 1e-3;

}  // namespace trifecta::testing
