// CUDA matmul on cuBLAS: one cublasGemmStridedBatchedEx call per product, whatever the batch.
//
// cuBLAS is column-major; trifecta is row-major. A row-major [M, N] matrix C has the same bytes as the
// column-major [N, M] matrix C^T, so instead of C = A B we ask cuBLAS for C^T = B^T A^T: an N x M product
// with B as the first operand. A row-major operand read column-major *is* its transpose, so it goes in
// with CUBLAS_OP_N; a column-major operand (a transposed view) goes in with CUBLAS_OP_T. Nothing is copied.
//
// Precision: float32 uses CUBLAS_COMPUTE_32F, never the TF32 tensor-core mode, so CUDA results match the
// CPU's to float32 rounding; bfloat16/float16 multiply on tensor cores but accumulate in float32, rounding
// the result once; float64 computes in float64. "Once" needs CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION:
// by default cuBLAS may split a long K into pieces (split-K) and add the pieces' partial sums in the 16-bit
// output type, rounding every partial sum (tests/unit/matmul_test.cpp's SixteenBitProductsRoundOnce).
#include <cublas_v2.h>

#include "kernels/kernel_signatures.h"
#include "kernels/matmul/matmul.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

#define TRIFECTA_CUBLAS_CHECK(expr)                                                                 \
  do {                                                                                              \
    const cublasStatus_t trifecta_cublas_status = (expr);                                           \
    if (trifecta_cublas_status != CUBLAS_STATUS_SUCCESS) [[unlikely]]                               \
      TRIFECTA_FAIL("matmul", "cuBLAS error ", cublasGetStatusName(trifecta_cublas_status), " (",   \
                    cublasGetStatusString(trifecta_cublas_status), ") at " __FILE__ ":", __LINE__); \
  } while (0)

namespace trifecta {
namespace {

// cuBLAS picks faster kernels (split-K among them) when given scratch space; 32 MiB is what NVIDIA
// recommends for Hopper. It comes from the caching allocator rather than cuBLAS's own cudaMalloc.
constexpr int64_t kWorkspaceBytes = 32 << 20;

// One handle per process, bound to trifecta's one stream. The handle and its workspace live until the
// process exits and are deliberately never destroyed: destroying them from a static destructor would race
// the CUDA runtime's own teardown.
cublasHandle_t handle() {
  static const cublasHandle_t created = [] {
    cublasHandle_t h = nullptr;
    TRIFECTA_CUBLAS_CHECK(cublasCreate(&h));
    TRIFECTA_CUBLAS_CHECK(cublasSetStream(h, gpu::stream()));
    TRIFECTA_CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));
    TRIFECTA_CUBLAS_CHECK(cublasSetMathMode(h, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH |
                                                                         CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
    static const Tensor* const workspace = new Tensor(empty({kWorkspaceBytes / 8}, {DType::Int64, kCUDA}));
    TRIFECTA_CUBLAS_CHECK(cublasSetWorkspace(h, workspace->raw_data(), kWorkspaceBytes));
    return h;
  }();
  return created;
}

struct GemmTypes {
  cudaDataType data;
  cublasComputeType_t compute;
};

GemmTypes gemm_types(DType dtype) {
  switch (dtype) {
    case DType::Float32: return {CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case DType::Float64: return {CUDA_R_64F, CUBLAS_COMPUTE_64F};
    case DType::BFloat16: return {CUDA_R_16BF, CUBLAS_COMPUTE_32F};
    case DType::Float16: return {CUDA_R_16F, CUBLAS_COMPUTE_32F};
    default:
      TRIFECTA_FAIL("matmul", "supports float32, float64, bfloat16 and float16, got ", dtype_name(dtype));
  }
}

void matmul_cuda(const Tensor& a, const Tensor& b, const Tensor& out) {
  check_matmul_operands(a, b, out, "matmul");
  const GemmTypes types = gemm_types(out.dtype());
  const BlasMatrix la = *blas_matrix(a), lb = *blas_matrix(b);
  const int batch = static_cast<int>(out.size(0));
  const int m = static_cast<int>(out.size(1)), n = static_cast<int>(out.size(2)), k = static_cast<int>(a.size(2));
  // alpha and beta have the compute type: double for float64, float otherwise.
  const double alpha64 = 1.0, beta64 = 0.0;
  const float alpha32 = 1.0f, beta32 = 0.0f;
  const bool wide = types.compute == CUBLAS_COMPUTE_64F;
  // C^T (N x M, ldc = N) = op(B)^T-as-stored (N x K) · op(A)^T-as-stored (K x M); see the top of the file.
  TRIFECTA_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      handle(), lb.transposed ? CUBLAS_OP_T : CUBLAS_OP_N, la.transposed ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k,
      wide ? static_cast<const void*>(&alpha64) : &alpha32, b.raw_data(), types.data, static_cast<int>(lb.ld),
      lb.batch_stride, a.raw_data(), types.data, static_cast<int>(la.ld), la.batch_stride,
      wide ? static_cast<const void*>(&beta64) : &beta32, out.raw_data(), types.data, n,
      static_cast<long long>(m) * n, batch, types.compute, CUBLAS_GEMM_DEFAULT));
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(matmul, CUDA, &matmul_cuda);

}  // namespace trifecta
