// The matmul kernel signature and the operand layouts its BLAS back ends (OpenBLAS, cuBLAS) accept.
//
// A kernel computes out[i] = a[i] · b[i] for every batch index i, with a [B, M, K], b [B, K, N] and out
// [B, M, N] (out contiguous). The front end (autograd/ops/matmul.cpp) hands over operands whose matrices
// BLAS can read in place, so a transposed view costs a transpose flag instead of a copy:
//   batch      any stride, including 0 (one matrix broadcast over the batch)
//   matrix     row-major (unit column stride, row stride >= cols) or column-major (unit row stride,
//              column stride >= rows): BLAS's "no-transpose" and "transpose" forms with a leading dimension
// and with every size at least 1 (the front end handles empty products and K = 0 itself).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "tensor/tensor.h"

namespace trifecta {

using MatmulKernel = void(const Tensor& a, const Tensor& b, const Tensor& out);

// How BLAS addresses one [batch, rows, cols] operand: element (i, r, c) lives at
// i * batch_stride + (transposed ? c * ld + r : r * ld + c).
struct BlasMatrix {
  bool transposed;  // column-major storage: BLAS reads it as the transpose of a row-major matrix
  int64_t ld;       // the leading dimension (distance between rows, or columns when transposed)
  int64_t batch_stride;
};

// The BLAS view of the matrices in m's last two dims, or nothing when neither row- nor column-major fits (a
// strided slice, an expanded row). Size-1 dims may have any stride. batch_stride is dim 0's stride for a
// [batch, rows, cols] kernel operand, and 0 for anything else.
inline std::optional<BlasMatrix> blas_matrix(const Tensor& m) {
  const int r = m.ndim() - 2, c = m.ndim() - 1;
  const int64_t rows = m.size(r), cols = m.size(c);
  const int64_t row_stride = m.stride(r), col_stride = m.stride(c);
  const int64_t batch_stride = m.ndim() == 3 && m.size(0) > 1 ? m.stride(0) : 0;
  if ((cols <= 1 || col_stride == 1) && (rows <= 1 || row_stride >= std::max<int64_t>(1, cols)))
    return BlasMatrix{false, rows <= 1 ? std::max<int64_t>(1, cols) : row_stride, batch_stride};
  if ((rows <= 1 || row_stride == 1) && (cols <= 1 || col_stride >= std::max<int64_t>(1, rows)))
    return BlasMatrix{true, cols <= 1 ? std::max<int64_t>(1, rows) : col_stride, batch_stride};
  return std::nullopt;
}

// Checks what every matmul kernel assumes (see the top of this file) and that BLAS's 32-bit sizes suffice.
inline void check_matmul_operands(const Tensor& a, const Tensor& b, const Tensor& out, const char* op) {
  TRIFECTA_CHECK(a.ndim() == 3 && b.ndim() == 3 && out.ndim() == 3, op, "kernel expects 3-D operands, got ",
                 a.str(), ", ", b.str(), ", ", out.str());
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  TRIFECTA_CHECK(a.size(0) == batch && b.size(0) == batch && a.size(1) == m && b.size(1) == k && b.size(2) == n, op,
                 "kernel operands disagree: ", a.str(), " · ", b.str(), " -> ", out.str());
  TRIFECTA_CHECK(batch > 0 && m > 0 && n > 0 && k > 0, op, "kernel needs non-empty operands, got ", a.str(), " · ",
                 b.str());
  TRIFECTA_CHECK(a.dtype() == out.dtype() && b.dtype() == out.dtype(), op, "kernel operands of different dtypes");
  TRIFECTA_CHECK(out.is_contiguous(), op, "kernel output must be contiguous");
  TRIFECTA_CHECK(blas_matrix(a) && blas_matrix(b), op, "kernel operands must be row- or column-major matrices, got strides ",
                 a.strides().str(), " and ", b.strides().str());
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  TRIFECTA_CHECK(batch <= kIntMax && m <= kIntMax && n <= kIntMax && k <= kIntMax && blas_matrix(a)->ld <= kIntMax &&
                     blas_matrix(b)->ld <= kIntMax,
                 op, "sizes beyond BLAS's 32-bit range: ", a.str(), " · ", b.str());
}

}  // namespace trifecta
