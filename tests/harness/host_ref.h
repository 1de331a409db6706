// Ref: a row-major float64 host copy of a tensor, for writing independent reference implementations with
// plain loops. Indices are exact in double up to 2^53, so integer tensors round-trip too.
#pragma once

#include <functional>
#include <vector>

#include "autograd/ops.h"

namespace trifecta::testing {

struct Ref {
  Shape shape;
  std::vector<double> v;

  Ref() = default;
  explicit Ref(const Shape& s, double fill = 0.0) : shape(s), v(static_cast<size_t>(s.numel()), fill) {}
  static Ref of(const Tensor& t) {
    Ref r;
    r.shape = t.shape();
    r.v = t.to_vector<double>();
    return r;
  }
  Tensor tensor(DType dtype = DType::Float64) const { return from_vector(v, shape, {dtype}); }
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  double& operator[](int64_t i) { return v[static_cast<size_t>(i)]; }
  double operator[](int64_t i) const { return v[static_cast<size_t>(i)]; }
  int64_t offset(const std::vector<int64_t>& index) const {
    int64_t o = 0;
    for (int d = 0; d < shape.size(); ++d) o = o * shape[d] + index[d];
    return o;
  }
  double& at(const std::vector<int64_t>& index) { return v[static_cast<size_t>(offset(index))]; }
  double at(const std::vector<int64_t>& index) const { return v[static_cast<size_t>(offset(index))]; }
};

// Calls f(index) for every multi-index of shape in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& f) {
  if (shape.numel() == 0) return;
  std::vector<int64_t> index(shape.size(), 0);
  while (true) {
    f(index);
    int d = shape.size() - 1;
    while (d >= 0 && ++index[d] == shape[d]) index[d--] = 0;
    if (d < 0) return;
  }
}

// Elementwise references.
inline Ref map_ref(const Ref& x, const std::function<double(double)>& f) {
  Ref out(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = f(x[i]);
  return out;
}

// Broadcasting binary reference (NumPy rules).
inline Ref zip_ref(const Ref& a, const Ref& b, const std::function<double(double, double)>& f) {
  const Shape shape = broadcast_shapes(a.shape, b.shape, "reference");
  Ref out(shape);
  for_each_index(shape, [&](const std::vector<int64_t>& i) {
    const auto pick = [&](const Ref& r) {
      std::vector<int64_t> j(r.shape.size());
      for (int d = 0; d < r.shape.size(); ++d) {
        const int od = d + shape.size() - r.shape.size();
        j[d] = r.shape[d] == 1 ? 0 : i[od];
      }
      return r.at(j);
    };
    out.at(i) = f(pick(a), pick(b));
  });
  return out;
}

}  // namespace trifecta::testing
