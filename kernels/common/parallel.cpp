// Thread count for CPU kernels and OpenBLAS (its OpenMP build, linked by CMakeLists.txt, shares the OpenMP
// runtime with them, so one setting governs both).
#include "kernels/common/parallel.h"

#include <cblas.h>

namespace trifecta {

void set_num_threads(int threads) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace trifecta
