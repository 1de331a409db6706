// Checked conversion of feature tensors to float64 matrices.
#include "models/common/image_metrics/feature_matrix.h"

#include <cmath>
#include <cstring>

#include "tensor/error.h"

namespace trifecta::image_metrics {

FeatureMatrix feature_matrix(const Tensor& t, const std::string& what, int64_t min_rows) {
  TRIFECTA_CHECK(t.defined(), what, "is an undefined tensor");
  TRIFECTA_CHECK(t.ndim() == 2, what, "expected a matrix [N, F] (one row per image), got shape ", t.shape().str());
  TRIFECTA_CHECK(is_floating(t.dtype()), what, "expected floating-point values, got ", dtype_name(t.dtype()));
  TRIFECTA_CHECK(t.size(0) >= min_rows, what, "needs at least ", min_rows, " rows (images), got ", t.size(0));
  TRIFECTA_CHECK(t.size(1) >= 1, what, "has no columns");
  const Tensor host = t.to(kCPU).to(DType::Float64).contiguous();
  FeatureMatrix m{t.size(0), t.size(1), std::vector<double>(static_cast<size_t>(host.numel()))};
  std::memcpy(m.values.data(), host.data<double>(), m.values.size() * sizeof(double));
  for (size_t i = 0; i < m.values.size(); ++i)
    TRIFECTA_CHECK(std::isfinite(m.values[i]), what, "value ", m.values[i], " at row ", static_cast<int64_t>(i) / m.cols,
                   ", column ", static_cast<int64_t>(i) % m.cols, " is not finite");
  return m;
}

FeatureMatrix gather_rows(const FeatureMatrix& m, const std::vector<int64_t>& rows) {
  FeatureMatrix out{static_cast<int64_t>(rows.size()), m.cols, std::vector<double>(rows.size() * static_cast<size_t>(m.cols))};
  for (size_t r = 0; r < rows.size(); ++r) std::memcpy(out.values.data() + r * static_cast<size_t>(m.cols), m.row(rows[r]), static_cast<size_t>(m.cols) * sizeof(double));
  return out;
}

}  // namespace trifecta::image_metrics
