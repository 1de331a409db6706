// Shape arithmetic: numel, contiguous strides, broadcasting, dim wrapping.
#include "tensor/shape.h"

#include <sstream>

namespace trifecta {

void Shape::insert(int pos, int64_t d) {
  TRIFECTA_CHECK(ndim_ < kMaxDims, "shape", "more than ", kMaxDims, " dimensions are not supported");
  for (int i = ndim_; i > pos; --i) dims_[i] = dims_[i - 1];
  dims_[pos] = d;
  ++ndim_;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < ndim_; ++i) dims_[i] = dims_[i + 1];
  --ndim_;
}

int64_t Shape::numel(std::string_view what) const {
  // A product that wrapped would describe a tensor far larger than the storage allocated for it. The span
  // bounds the largest contiguous stride, which skips zero dims: [0, 2^40, 2^40] holds nothing, but its
  // first stride would be 2^80.
  int64_t n = 1, span = 1;
  for (int i = 0; i < ndim_; ++i) {
    const bool overflow = __builtin_mul_overflow(n, dims_[i], &n) |
                          __builtin_mul_overflow(span, dims_[i] > 1 ? dims_[i] : 1, &span);
    TRIFECTA_CHECK(!overflow, what, "shape ", str(), " is too large: its element count or strides overflow int64");
  }
  return n;
}

std::string Shape::str() const {
  std::ostringstream out;
  out << '[';
  for (int i = 0; i < ndim_; ++i) out << (i ? ", " : "") << dims_[i];
  out << ']';
  return out.str();
}

bool Shape::operator==(const Shape& other) const {
  if (ndim_ != other.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[i] != other.dims_[i]) return false;
  return true;
}

Strides contiguous_strides(const Shape& shape) {
  Strides strides = shape;
  int64_t running = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    strides[i] = running;
    running *= shape[i] > 0 ? shape[i] : 1;
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int ndim = a.size() > b.size() ? a.size() : b.size();
  Shape out;
  for (int i = 0; i < ndim; ++i) {
    const int ia = i - (ndim - a.size()), ib = i - (ndim - b.size());
    const int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    TRIFECTA_CHECK(da == db || da == 1 || db == 1, op, "shapes ", a.str(), " and ", b.str(),
                   " cannot be broadcast (dim ", i, ": ", da, " vs ", db, ")");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  const int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  TRIFECTA_CHECK(dim >= lo && dim <= hi, op, "dim ", dim, " is out of range for a tensor of ", ndim,
                 " dimensions");
  return static_cast<int>(dim < 0 ? dim + (ndim == 0 ? 1 : ndim) : dim);
}

}  // namespace trifecta
