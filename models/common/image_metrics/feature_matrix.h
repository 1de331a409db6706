// The input of every image-quality metric: a matrix with one row per image (a feature vector, or a class
// distribution), copied into float64 from a tensor after the checks each metric needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace trifecta::image_metrics {

struct FeatureMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;  // row-major, rows * cols

  double at(int64_t row, int64_t col) const { return values[static_cast<size_t>(row * cols + col)]; }
  const double* row(int64_t r) const { return values.data() + r * cols; }
};

// t must be a 2-D floating tensor (any device, dtype, strides) of at least min_rows rows and one column,
// every value finite; errors name `what`, and for a non-finite value its row and column.
FeatureMatrix feature_matrix(const Tensor& t, const std::string& what, int64_t min_rows);

// The rows listed in `rows`, in that order, as a new matrix.
FeatureMatrix gather_rows(const FeatureMatrix& m, const std::vector<int64_t>& rows);

}  // namespace trifecta::image_metrics
