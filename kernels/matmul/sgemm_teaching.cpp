// teaching_sgemm's argument checks, compiled in every build so that CPU-only tests can exercise them; the
// kernels are in sgemm_teaching.cu.
#include "kernels/matmul/sgemm_teaching.h"

#include <limits>

namespace trifecta {

void teaching_sgemm(int version, const Tensor& a, const Tensor& b, const Tensor& out) {
  constexpr const char* op = "teaching_sgemm";
  TRIFECTA_CHECK(version >= 1 && version <= kTeachingSgemmVersions, op, "version must be in 1..",
                 kTeachingSgemmVersions, ", got ", version);
  TRIFECTA_CHECK(a.defined() && b.defined() && out.defined(), op, "undefined tensor");
  TRIFECTA_CHECK(a.ndim() == 2 && b.ndim() == 2 && out.ndim() == 2, op, "expects matrices, got ", a.str(), ", ",
                 b.str(), " and ", out.str());
  TRIFECTA_CHECK(a.dtype() == DType::Float32 && b.dtype() == DType::Float32 && out.dtype() == DType::Float32, op,
                 "expects float32 tensors, got ", a.str(), ", ", b.str(), " and ", out.str());
  TRIFECTA_CHECK(a.size(1) == b.size(0) && out.size(0) == a.size(0) && out.size(1) == b.size(1), op,
                 "shapes disagree: ", a.shape().str(), " · ", b.shape().str(), " -> ", out.shape().str());
  TRIFECTA_CHECK(a.is_contiguous() && b.is_contiguous() && out.is_contiguous(), op,
                 "expects contiguous (row-major) tensors, got strides ", a.strides().str(), ", ", b.strides().str(),
                 " and ", out.strides().str());
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  TRIFECTA_CHECK(a.numel() <= kIntMax && b.numel() <= kIntMax && out.numel() <= kIntMax, op,
                 "matrices of 2^31 or more elements are beyond its 32-bit indexing: ", a.shape().str(), " · ",
                 b.shape().str());
  TRIFECTA_CHECK(a.device().is_cuda() && b.device().is_cuda() && out.device().is_cuda(), op,
                 "expects CUDA tensors, got ", a.str(), ", ", b.str(), " and ", out.str());
  if (out.numel() == 0) return;
  // A CPU-only build cannot make CUDA tensors, so the check above is as far as it ever gets.
#if defined(TRIFECTA_WITH_CUDA)
  launch_teaching_sgemm(version, a.data<float>(), b.data<float>(), out.data<float>(), static_cast<int>(a.size(0)),
                        static_cast<int>(b.size(1)), static_cast<int>(a.size(1)));
#endif
}

}  // namespace trifecta
