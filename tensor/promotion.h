// Type promotion, as PyTorch does it. Operands of an elementwise op meet in one dtype, the result type:
//   - kinds rank bool < integer < floating; two dtypes of one kind meet in the wider one (int32 with int64
//     is int64, float32 with float64 is float64), float16 with bfloat16 in float32, and across kinds the
//     higher kind's dtype wins (int64 with float16 is float16);
//   - a tensor with dims decides the dtype; a 0-dim tensor, and then a number, only raise the result to
//     their kind when it is higher (int64[3] with a 0-dim float64 tensor gives float64, float16[3] with a
//     0-dim float32 tensor stays float16);
//   - a number (Scalar) has a kind but no width: a floating number meets an integer or bool tensor in the
//     default floating dtype, float32; an integer number meets a bool tensor in int64.
// An in-place op stores its result type into its destination, which must be able to hold it (can_cast).
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace trifecta {

enum class ScalarKind : uint8_t { Bool, Integral, Floating };

// A number given to an op in place of a tensor (x * 0.5, lt(x, 0), clamp(x, 0, 6)). It converts implicitly
// from any C++ arithmetic type, whose kind it keeps, so mul(int_tensor, 2) stays an integer tensor and
// mul(int_tensor, 2.0) becomes float32, as in Python. The value is held as a double, and an integer also
// exactly (a double rounds integers beyond 2^53), so int64 arithmetic with a number is exact.
class Scalar {
 public:
  template <class T>
    requires std::is_arithmetic_v<T>
  Scalar(T value)  // NOLINT(google-explicit-constructor): numbers stand in for tensors, as in PyTorch
      : value_(static_cast<double>(value)),
        kind_(std::is_same_v<T, bool>       ? ScalarKind::Bool
              : std::is_integral_v<T>       ? ScalarKind::Integral
                                            : ScalarKind::Floating) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      // Only a uint64 can lie beyond int64 (as a Python int can; PyTorch refuses those).
      if (value <= static_cast<uint64_t>(INT64_MAX)) integer_ = static_cast<int64_t>(value);
    } else if constexpr (std::is_integral_v<T>) {
      integer_ = static_cast<int64_t>(value);
    }
  }

  double value() const { return value_; }
  ScalarKind kind() const { return kind_; }
  // The exact value of an integer or bool number that fits int64; none for a floating number or a larger
  // integer.
  std::optional<int64_t> integer() const { return integer_; }

 private:
  double value_;
  ScalarKind kind_;
  std::optional<int64_t> integer_;
};

// The dtype two dtypes meet in (the rules above, without the 0-dim and number ones).
DType promote_types(DType a, DType b);
// The result type of an op on these operands.
DType result_type(const Tensor& a, const Tensor& b);
DType result_type(const Tensor& a, const Scalar& b);
DType result_type(const Tensor& a, const Scalar& b, const Scalar& c);
// Whether a value of dtype `from` may be stored in dtype `to` by an in-place op: not floating into integer
// or bool, not integer into bool (PyTorch's canCast).
bool can_cast(DType from, DType to);
// Whether value converts to dtype without overflow: integer dtypes need a finite value whose integer part
// lies in their range (C++ leaves the conversion undefined otherwise); floating and bool dtypes take any.
bool fits_in(double value, DType dtype);

}  // namespace trifecta
