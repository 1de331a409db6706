// Finite-difference gradient checking and tensor comparison for the op harness.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "tests/harness/op_spec.h"
#include "tests/harness/tolerance.h"

namespace trifecta::testing {

// Compares two tensors of one shape elementwise (in float64 on the host); the message names what and where.
::testing::AssertionResult tensors_close(const Tensor& actual, const Tensor& expected, Tolerance tol,
                                         const std::string& what);
::testing::AssertionResult tensor_matches_ref(const Tensor& actual, const Ref& expected, Tolerance tol,
                                              const std::string& what);

// Checks every differentiable input's gradient against central differences of L = sum_k <out_k, w_k>, with
// random weights w_k, in float64 on device. Outputs that carry no gradient (indices, batch_norm's running
// statistics) stay out of L.
::testing::AssertionResult gradcheck(const OpSpec& spec, const OpCase& c, Device device, uint64_t seed);

// Checks every differentiable input's gradient of L = sum_k <out_k, w_k> computed in dtype (bfloat16,
// float16, float32) on device against the float64 gradient on the same values (the inputs rounded to dtype,
// weights representable in dtype), within gradient_tolerance(dtype).
::testing::AssertionResult gradients_match_float64(const OpSpec& spec, const OpCase& c, DType dtype, Device device,
                                                  uint64_t seed);

// A seed per (op, case), stable across runs and devices.
uint64_t case_seed(const OpSpec& spec, size_t case_index);

}  // namespace trifecta::testing
