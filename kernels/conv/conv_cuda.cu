// CUDA convolution. With cuDNN compiled in, conv_cudnn.cpp takes the call (see conv_cudnn.h for when it
// declines); otherwise, and whenever it declines, the hand-written path below runs: im2col / col2im kernels
// and cuBLAS GEMMs over chunks of the batch (conv.h has the matrices). A chunk is as many images as fit a
// fixed workspace budget, so one strided-batched GEMM covers many images:
//
//   forward        col [B, K, P] = im2col(x chunk);   y[b] = W @ col[b]             (batched, W shared)
//   grad input     gcol[b] = W^T @ grad y[b];         grad x = col2im(gcol)         (batched, then a gather)
//   grad weight    col [K, B*P] and grad y as [O, B*P] side by side: grad W += gy @ col^T, one GEMM whose
//                  inner dimension runs over the chunk's images and pixels together
//
// col2im is a gather (one thread per input pixel sums the col entries that came from it), so no atomics:
// with cuBLAS's fixed reductions the results are the same run to run.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdlib>

#include "kernels/conv/conv.h"
#include "kernels/conv/conv_cudnn.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"
#include "tensor/cuda_utils.h"

#define TRIFECTA_CUBLAS_CHECK(expr, op)                                                                      \
  do {                                                                                                       \
    const cublasStatus_t trifecta_cublas_status = (expr);                                                    \
    if (trifecta_cublas_status != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                        \
      TRIFECTA_FAIL(op, "cuBLAS error ", cublasGetStatusString(trifecta_cublas_status), " at " __FILE__ ":", \
                    __LINE__);                                                                               \
  } while (0)

namespace trifecta {
namespace {

constexpr int kBlock = 256;
// Workspace per chunk: col buffers for this many bytes at most (but always at least one image).
constexpr int64_t kWorkspaceBytes = int64_t{256} << 20;

// One handle for the process, bound to trifecta's stream at each use. It is never destroyed: destroying it
// from a static destructor could run after the CUDA runtime has shut down.
cublasHandle_t cublas_handle(const char* op) {
  static const cublasHandle_t handle = [op] {
    cublasHandle_t h = nullptr;
    TRIFECTA_CUBLAS_CHECK(cublasCreate(&h), op);
    return h;
  }();
  TRIFECTA_CUBLAS_CHECK(cublasSetStream(handle, gpu::stream()), op);
  return handle;
}

// Column-major strided-batched GEMM, C[b] = op(A[b]) op(B[b]) + beta C[b], for float and double.
void gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                  const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta,
                  float* c, int64_t ldc, int64_t stride_c, int64_t batch, const char* op) {
  const float one = 1.0f;
  TRIFECTA_CUBLAS_CHECK(cublasSgemmStridedBatched(h, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                                                  &one, a, static_cast<int>(lda), stride_a, b, static_cast<int>(ldb),
                                                  stride_b, &beta, c, static_cast<int>(ldc), stride_c,
                                                  static_cast<int>(batch)),
                        op);
}
void gemm_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k,
                  const double* a, int64_t lda, int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b,
                  double beta, double* c, int64_t ldc, int64_t stride_c, int64_t batch, const char* op) {
  const double one = 1.0;
  TRIFECTA_CUBLAS_CHECK(cublasDgemmStridedBatched(h, ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                                                  &one, a, static_cast<int>(lda), stride_a, b, static_cast<int>(ldb),
                                                  stride_b, &beta, c, static_cast<int>(ldc), stride_c,
                                                  static_cast<int>(batch)),
                        op);
}

// col[b * image_stride + row * row_stride + pixel] for the chunk's images b, rows (c, p, q) < K and output
// pixels (i, j) < P: the x element that tap (p, q) of channel c reads for output (i, j), zero in the padding.
// Consecutive threads write consecutive pixels of a row, so the stores coalesce.
template <class T>
__global__ void im2col_kernel(ConvGeometry g, const T* x, int64_t images, T* col, int64_t image_stride,
                              int64_t row_stride) {
  const int64_t P = g.out_pixels(), K = g.patch_size(), total = images * K * P;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t pixel = index % P, row = (index / P) % K, b = index / (P * K);
    const int64_t i = pixel / g.out_w, j = pixel % g.out_w;
    const int64_t q = row % g.kernel_w, p = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
    const int64_t h = i * g.stride_h - g.pad_h + p * g.dilation_h, w = j * g.stride_w - g.pad_w + q * g.dilation_w;
    T value = T(0);
    if (h >= 0 && h < g.in_h && w >= 0 && w < g.in_w) value = x[((b * g.in_channels + c) * g.in_h + h) * g.in_w + w];
    col[b * image_stride + row * row_stride + pixel] = value;
  }
}

// x[b, c, h, w] = the sum of gcol[b, (c, p, q), (i, j)] over the taps that read (h, w): tap p of output row
// i sits at h when i*stride - pad + p*dilation = h. gcol is batched [B, K, P].
template <class T>
__global__ void col2im_kernel(ConvGeometry g, const T* gcol, int64_t images, T* x) {
  const int64_t P = g.out_pixels(), K = g.patch_size(), total = images * g.in_channels * g.in_pixels();
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t w = index % g.in_w, h = (index / g.in_w) % g.in_h;
    const int64_t c = (index / g.in_pixels()) % g.in_channels, b = index / (g.in_pixels() * g.in_channels);
    const T* image = gcol + b * K * P;
    T sum = T(0);
    for (int64_t p = 0; p < g.kernel_h; ++p) {
      const int64_t th = h + g.pad_h - p * g.dilation_h;
      if (th < 0) break;  // later taps lie further up, before output row 0
      if (th % g.stride_h != 0 || th / g.stride_h >= g.out_h) continue;
      const int64_t i = th / g.stride_h;
      for (int64_t q = 0; q < g.kernel_w; ++q) {
        const int64_t tw = w + g.pad_w - q * g.dilation_w;
        if (tw < 0) break;
        if (tw % g.stride_w != 0 || tw / g.stride_w >= g.out_w) continue;
        sum += image[((c * g.kernel_h + p) * g.kernel_w + q) * P + i * g.out_w + tw / g.stride_w];
      }
    }
    x[index] = sum;
  }
}

// y[b, o, pixel] = bias[o]: the GEMM then accumulates onto it.
template <class T>
__global__ void fill_bias_kernel(const T* bias, int64_t channels, int64_t pixels, int64_t total, T* y) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step)
    y[index] = bias[(index / pixels) % channels];
}

// out[o, b, pixel] = in[b, o, pixel]: grad y of a chunk laid out channel-major, beside the wide col.
template <class T>
__global__ void channels_first_kernel(const T* in, int64_t images, int64_t channels, int64_t pixels, T* out) {
  const int64_t total = images * channels * pixels;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += step) {
    const int64_t pixel = index % pixels, o = (index / pixels) % channels, b = index / (pixels * channels);
    out[(o * images + b) * pixels + pixel] = in[index];
  }
}

template <class Kernel, class... Args>
void launch(const char* op, int64_t total, Kernel kernel, Args... args) {
  kernel<<<gpu::grid_size(total, kBlock), kBlock, 0, gpu::stream()>>>(args...);
  TRIFECTA_CUDA_LAUNCH_CHECK(op);
}

// Images per chunk when each image needs bytes_per_image of workspace.
int64_t chunk_images(int64_t batch, int64_t bytes_per_image) {
  return std::clamp<int64_t>(kWorkspaceBytes / std::max<int64_t>(1, bytes_per_image), 1, batch);
}

Tensor workspace(int64_t elements, DType dtype, Device device) { return empty({std::max<int64_t>(1, elements)}, {dtype, device}); }

// cuBLAS takes int sizes and leading dimensions.
void check_int_sizes(const ConvGeometry& g, int64_t chunk, const char* op) {
  const int64_t largest = std::max({g.patch_size(), g.out_pixels() * chunk, g.out_channels, chunk});
  TRIFECTA_CHECK(largest <= INT32_MAX, op, "a GEMM dimension (", largest, ") exceeds cuBLAS's int range");
}

// Row-major y[b] (O x P) = W (O x K) @ col[b] (K x P) is column-major y[b]^T = col[b]^T W^T: m = P, n = O, k = K.
template <class T>
void conv2d_typed(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y, Device device) {
  constexpr const char* op = "conv2d";
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const bool direct = g.col_is_input();
  const int64_t chunk = direct ? g.batch : chunk_images(g.batch, K * P * static_cast<int64_t>(sizeof(T)));
  check_int_sizes(g, chunk, op);
  const Tensor col_buffer = direct ? Tensor() : workspace(chunk * K * P, dtype_of<T>(), device);
  T* col = direct ? nullptr : static_cast<T*>(col_buffer.raw_data());
  const cublasHandle_t handle = cublas_handle(op);
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const int64_t images = std::min(chunk, g.batch - first);
    const T* xc = x + first * image;
    T* yc = y + first * O * P;
    if (!direct) launch(op, images * K * P, im2col_kernel<T>, g, xc, images, col, K * P, P);
    if (bias) launch(op, images * O * P, fill_bias_kernel<T>, bias, O, P, images * O * P, yc);
    gemm_batched(handle, CUBLAS_OP_N, CUBLAS_OP_N, P, O, K, direct ? xc : col, P, K * P, w, K, 0, T(bias ? 1 : 0), yc,
                 P, O * P, images, op);
  }
}

// Row-major gcol[b] (K x P) = W^T (K x O) @ gy[b] (O x P) is column-major gcol[b]^T = gy[b]^T W, with W
// stored column-major as W^T: m = P, n = K, k = O.
template <class T>
void conv2d_backward_input_typed(const ConvGeometry& g, const T* grad_y, const T* w, T* grad_x, Device device) {
  constexpr const char* op = "conv2d_backward_input";
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const bool direct = g.col_is_input();
  const int64_t chunk = direct ? g.batch : chunk_images(g.batch, K * P * static_cast<int64_t>(sizeof(T)));
  check_int_sizes(g, chunk, op);
  const Tensor col_buffer = direct ? Tensor() : workspace(chunk * K * P, dtype_of<T>(), device);
  T* gcol = direct ? nullptr : static_cast<T*>(col_buffer.raw_data());
  const cublasHandle_t handle = cublas_handle(op);
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const int64_t images = std::min(chunk, g.batch - first);
    T* gxc = grad_x + first * image;
    gemm_batched(handle, CUBLAS_OP_N, CUBLAS_OP_T, P, K, O, grad_y + first * O * P, P, O * P, w, K, 0, T(0),
                 direct ? gxc : gcol, P, K * P, images, op);
    if (!direct) launch(op, images * image, col2im_kernel<T>, g, static_cast<const T*>(gcol), images, gxc);
  }
}

// With the chunk's col laid out wide, [K, B*P], and grad y as [O, B*P], row-major grad W (O x K) += gy @ col^T
// is column-major grad W^T = col gy^T, where col is stored column-major as col^T: m = K, n = O, k = B*P.
template <class T>
void conv2d_backward_weight_typed(const ConvGeometry& g, const T* x, const T* grad_y, T* grad_w, Device device) {
  constexpr const char* op = "conv2d_backward_weight";
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const int64_t chunk = chunk_images(g.batch, (K + O) * P * static_cast<int64_t>(sizeof(T)));
  check_int_sizes(g, chunk, op);
  const Tensor buffer = workspace(chunk * (K + O) * P, dtype_of<T>(), device);
  T* col = static_cast<T*>(buffer.raw_data());
  T* gy_wide = col + chunk * K * P;
  const cublasHandle_t handle = cublas_handle(op);
  for (int64_t first = 0; first < g.batch; first += chunk) {
    const int64_t images = std::min(chunk, g.batch - first), width = images * P;
    launch(op, images * K * P, im2col_kernel<T>, g, x + first * image, images, col, P, width);
    launch(op, images * O * P, channels_first_kernel<T>, grad_y + first * O * P, images, O, P, gy_wide);
    gemm_batched(handle, CUBLAS_OP_T, CUBLAS_OP_N, K, O, width, static_cast<const T*>(col), width, 0,
                 static_cast<const T*>(gy_wide), width, 0, T(first == 0 ? 0 : 1), grad_w, K, 0, 1, op);
  }
}

template <class F>
void dispatch_blas_dtype(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) return f(type_tag<float>{});
  if (dtype == DType::Float64) return f(type_tag<double>{});
  TRIFECTA_FAIL(op, "the CUDA kernel takes float32 or float64, got ", dtype_name(dtype));
}

void conv2d_cuda(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
#if defined(TRIFECTA_WITH_CUDNN)
  if (cudnn::conv2d_forward(g, x, weight, bias, y)) return;
#endif
  dispatch_blas_dtype(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_typed<T>(g, static_cast<const T*>(x.raw_data()), static_cast<const T*>(weight.raw_data()),
                    bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr, static_cast<T*>(y.raw_data()),
                    x.device());
  });
}

void conv2d_backward_input_cuda(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
#if defined(TRIFECTA_WITH_CUDNN)
  if (cudnn::conv2d_backward_input(g, grad_y, weight, grad_x)) return;
#endif
  dispatch_blas_dtype(grad_y.dtype(), "conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_backward_input_typed<T>(g, static_cast<const T*>(grad_y.raw_data()), static_cast<const T*>(weight.raw_data()),
                                   static_cast<T*>(grad_x.raw_data()), grad_y.device());
  });
}

void conv2d_backward_weight_cuda(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight) {
#if defined(TRIFECTA_WITH_CUDNN)
  if (cudnn::conv2d_backward_weight(g, x, grad_y, grad_weight)) return;
#endif
  dispatch_blas_dtype(x.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_backward_weight_typed<T>(g, static_cast<const T*>(x.raw_data()), static_cast<const T*>(grad_y.raw_data()),
                                    static_cast<T*>(grad_weight.raw_data()), x.device());
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(conv2d, CUDA, &conv2d_cuda);
TRIFECTA_REGISTER_KERNEL(conv2d_backward_input, CUDA, &conv2d_backward_input_cuda);
TRIFECTA_REGISTER_KERNEL(conv2d_backward_weight, CUDA, &conv2d_backward_weight_cuda);

}  // namespace trifecta
