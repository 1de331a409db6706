// Eigendecomposition of a real symmetric matrix, A = V diag(w) V^T, by LAPACK's divide-and-conquer dsyevd
// (Anderson et al., LAPACK Users' Guide, 3rd ed., sec. 2.4.4), which the OpenBLAS trifecta links ships.
// What the image metrics need for matrix square roots of covariances.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trifecta::image_metrics {

struct SymmetricEigen {
  int64_t n = 0;
  std::vector<double> values;   // ascending
  std::vector<double> vectors;  // n * n: vectors[k * n + i] is component i of the eigenvector of values[k]
};

// a: n * n, symmetric (only its upper triangle, in row-major terms, is read). what names the matrix in
// errors (a non-finite entry, LAPACK failing to converge).
SymmetricEigen symmetric_eigen(std::vector<double> a, int64_t n, const std::string& what);

}  // namespace trifecta::image_metrics
