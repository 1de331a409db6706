// nearest_code's front end: checks, then the fused distance-and-argmin kernel on contiguous operands.
#include "autograd/ops/quantize.h"

#include <limits>

#include "autograd/ops/factories.h"
#include "kernels/quantize/quantize_ops.h"
#include "kernels/registry.h"

namespace trifecta {

Tensor nearest_code(const Tensor& features, const Tensor& codebook) {
  const char* op = "nearest_code";
  TRIFECTA_CHECK(features.defined() && codebook.defined(), op, "undefined input");
  TRIFECTA_CHECK(features.ndim() == 2 && codebook.ndim() == 2, op,
                 "needs features [M, C] and a codebook [K, C], got ", features.str(), " and ", codebook.str());
  TRIFECTA_CHECK(is_floating(features.dtype()) && features.dtype() == codebook.dtype(), op,
                 "needs features and codebook of one floating dtype, got ", dtype_name(features.dtype()), " and ",
                 dtype_name(codebook.dtype()));
  TRIFECTA_CHECK(features.device() == codebook.device(), op, "features on ", features.device().str(),
                 " but codebook on ", codebook.device().str());
  TRIFECTA_CHECK(features.size(1) == codebook.size(1), op, "features have ", features.size(1),
                 " channels but the codebook's entries have ", codebook.size(1), " (", features.str(), " against ",
                 codebook.str(), ")");
  TRIFECTA_CHECK(codebook.size(0) >= 1, op, "the codebook has no entries: ", codebook.str());
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  TRIFECTA_CHECK(codebook.size(0) <= kIntMax && codebook.size(1) <= kIntMax, op,
                 "codebook sizes beyond BLAS's 32-bit range: ", codebook.str());
  const int64_t rows = features.size(0);
  // With no channels every distance is 0: a tie of all entries, which the first wins.
  if (rows == 0 || features.size(1) == 0) return zeros({rows}, {DType::Int64, features.device()});
  Tensor indices = empty({rows}, {DType::Int64, features.device()});
  kernel_for<NearestCodeKernel>(OpId::nearest_code, features.device())(features.contiguous(), codebook.contiguous(),
                                                                       indices);
  return indices;
}

}  // namespace trifecta
