// CPU matmul on OpenBLAS. BLAS's row-major interface takes each operand in place, a column-major one with
// the transpose flag. 16-bit floats have no BLAS routine: they are widened to float32, multiplied by sgemm
// (accumulating in float) and rounded back once, which is also what cuBLAS does for them on the GPU.
#include <cblas.h>

#include "kernels/common/parallel.h"
#include "kernels/copy/copy.h"
#include "kernels/kernel_signatures.h"
#include "kernels/matmul/matmul.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Below this many multiply-adds OpenBLAS runs a GEMM on the calling thread alone (its threshold is
// 65536 * GEMM_MULTITHREAD_THRESHOLD, by default 4), so a batch of such products is split across threads.
constexpr int64_t kSmallGemm = 64 * 64 * 64;

template <class T>
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c,
          int ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

template <class T>
void batched_gemm(const Tensor& a, const Tensor& b, const Tensor& out) {
  const BlasMatrix la = *blas_matrix(a), lb = *blas_matrix(b);
  const int64_t batch = out.size(0);
  const int m = static_cast<int>(out.size(1)), n = static_cast<int>(out.size(2)), k = static_cast<int>(a.size(2));
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  T* pc = static_cast<T*>(out.raw_data());
  const auto run = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      gemm<T>(la.transposed ? CblasTrans : CblasNoTrans, lb.transposed ? CblasTrans : CblasNoTrans, m, n, k,
              pa + i * la.batch_stride, static_cast<int>(la.ld), pb + i * lb.batch_stride, static_cast<int>(lb.ld),
              pc + i * m * n, n);
  };
  if (static_cast<int64_t>(m) * n * k < kSmallGemm) parallel_for(0, batch, 1, run);
  else run(0, batch);
}

// A float32 copy of a 16-bit operand. A matrix broadcast over the batch (stride 0) is widened once.
Tensor widen(const Tensor& x) {
  const bool shared = x.size(0) == 1 || x.stride(0) == 0;
  const Tensor source = shared ? as_strided(x, {1, x.size(1), x.size(2)}, x.strides(), x.offset()) : x;
  Tensor wide = empty(source.shape(), DType::Float32);
  copy_into(wide, source);
  return shared ? as_strided(wide, x.shape(), {0, x.size(2), 1}, 0) : wide;
}

void matmul_cpu(const Tensor& a, const Tensor& b, const Tensor& out) {
  check_matmul_operands(a, b, out, "matmul");
  switch (out.dtype()) {
    case DType::Float32: return batched_gemm<float>(a, b, out);
    case DType::Float64: return batched_gemm<double>(a, b, out);
    case DType::BFloat16:
    case DType::Float16: {
      const Tensor wide_out = empty(out.shape(), DType::Float32);
      batched_gemm<float>(widen(a), widen(b), wide_out);
      copy_into(out, wide_out);
      return;
    }
    default:
      TRIFECTA_FAIL("matmul", "supports float32, float64, bfloat16 and float16, got ", dtype_name(out.dtype()));
  }
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(matmul, CPU, &matmul_cpu);

}  // namespace trifecta
