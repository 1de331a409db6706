// Type promotion (tensor/promotion.h): the dtype table, PyTorch's three-tier result type, casting rules.
#include "tensor/promotion.h"

#include <cmath>
#include <optional>

namespace trifecta {

namespace {

int kind_rank(DType dtype) { return dtype == DType::Bool ? 0 : is_integral(dtype) ? 1 : 2; }

// The result type is built in three tiers: tensors with dims, 0-dim tensors, numbers. Each tier promotes
// within itself; then a lower tier raises the result only when its kind is higher (PyTorch's
// combine_categories).
std::optional<DType> combine(std::optional<DType> higher, std::optional<DType> lower) {
  if (!higher) return lower;
  if (!lower) return higher;
  return kind_rank(*lower) > kind_rank(*higher) ? promote_types(*higher, *lower) : *higher;
}

struct Tiers {
  std::optional<DType> dims, zero_dim, numbers;

  void add(const Tensor& t) {
    TRIFECTA_CHECK(t.defined(), "type promotion", "undefined tensor");
    std::optional<DType>& tier = t.ndim() > 0 ? dims : zero_dim;
    tier = tier ? promote_types(*tier, t.dtype()) : t.dtype();
  }
  void add(const Scalar& s) {
    const DType as = s.kind() == ScalarKind::Bool       ? DType::Bool
                     : s.kind() == ScalarKind::Integral ? DType::Int64
                                                        : DType::Float32;  // the default floating dtype
    numbers = numbers ? promote_types(*numbers, as) : as;
  }
  DType result() const { return *combine(dims, combine(zero_dim, numbers)); }
};

}  // namespace

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  const int ka = kind_rank(a), kb = kind_rank(b);
  if (ka != kb) return ka > kb ? a : b;
  if (ka == 1) return DType::Int64;  // int32 with int64
  // Two different floating dtypes: float16 with bfloat16 has no common 16-bit type, so float32; otherwise the
  // wider one.
  if (itemsize(a) == itemsize(b)) return DType::Float32;
  return itemsize(a) > itemsize(b) ? a : b;
}

DType result_type(const Tensor& a, const Tensor& b) {
  Tiers tiers;
  tiers.add(a);
  tiers.add(b);
  return tiers.result();
}

DType result_type(const Tensor& a, const Scalar& b) {
  Tiers tiers;
  tiers.add(a);
  tiers.add(b);
  return tiers.result();
}

DType result_type(const Tensor& a, const Scalar& b, const Scalar& c) {
  Tiers tiers;
  tiers.add(a);
  tiers.add(b);
  tiers.add(c);
  return tiers.result();
}

bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != DType::Bool && to == DType::Bool) return false;
  return true;
}

bool fits_in(double value, DType dtype) {
  if (!is_integral(dtype)) return true;
  if (!std::isfinite(value)) return false;
  // The bounds are powers of two, exact in double: [-2^31, 2^31) and [-2^63, 2^63).
  const double limit = dtype == DType::Int32 ? 2147483648.0 : 9223372036854775808.0;
  const double whole = std::trunc(value);
  return whole >= -limit && whole < limit;
}

}  // namespace trifecta
