// The LAPACK call behind symmetric_eigen. OpenBLAS exports LAPACK's Fortran symbols but Debian ships no
// header for them (lapack.h is in liblapack-dev, which would pull in the reference LAPACK), so the one
// routine used is declared here with the Fortran calling convention: every argument by pointer, 32-bit
// integers (the LP64 libopenblas0, not libopenblas64), and gfortran's hidden lengths of the two character
// arguments appended at the end (omitting them is undefined behaviour since gfortran 9's tail calls).
#include "models/common/image_metrics/symmetric_eigen.h"

#include <cmath>
#include <cstddef>
#include <limits>

#include "tensor/error.h"

extern "C" void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
                        double* work, const int* lwork, int* iwork, const int* liwork, int* info,
                        size_t jobz_length, size_t uplo_length);

namespace trifecta::image_metrics {

SymmetricEigen symmetric_eigen(std::vector<double> a, int64_t n, const std::string& what) {
  TRIFECTA_CHECK(n >= 1 && n <= 46340, what, "symmetric_eigen takes 1 to 46340 rows (n * n fits a LAPACK int), got ", n);
  TRIFECTA_CHECK(a.size() == static_cast<size_t>(n * n), what, "holds ", a.size(), " values, not ", n, " x ", n);
  for (const double v : a) TRIFECTA_CHECK(std::isfinite(v), what, "has a non-finite entry ", v);
  // Row-major upper triangle = column-major lower triangle: LAPACK sees the transpose, which is the same
  // symmetric matrix. Its column-major eigenvectors come back as rows in our row-major reading.
  const char jobz = 'V', uplo = 'L';
  const int size = static_cast<int>(n);
  SymmetricEigen result{n, std::vector<double>(static_cast<size_t>(n)), {}};
  int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevd_(&jobz, &uplo, &size, a.data(), &size, result.values.data(), &work_query, &lwork, &iwork_query, &liwork,
          &info, 1, 1);
  TRIFECTA_CHECK(info == 0, what, "LAPACK dsyevd workspace query failed (info ", info, ")");
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<size_t>(lwork));
  std::vector<int> iwork(static_cast<size_t>(liwork));
  dsyevd_(&jobz, &uplo, &size, a.data(), &size, result.values.data(), work.data(), &lwork, iwork.data(), &liwork,
          &info, 1, 1);
  TRIFECTA_CHECK(info == 0, what, "LAPACK dsyevd did not converge (info ", info, ")");
  result.vectors = std::move(a);
  return result;
}

}  // namespace trifecta::image_metrics
