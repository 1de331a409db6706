// CPU convolution: im2col + OpenBLAS GEMM per image (see conv.h for the matrices), the batch split into one
// slice per thread. Each slice owns a col buffer and calls single-threaded GEMMs, so the threads never
// synchronize until the weight gradient's per-slice partial sums are added, in slice order (the result
// depends on the thread count, never on timing). A batch too small to split (one image, or too little work
// to pay for waking threads) runs as one slice, and OpenBLAS may spread its GEMMs over its own threads.
//
// im2col and col2im walk col row by row: one row is one (channel, kernel tap) pair, and for a fixed kernel
// row p each output row i reads one input row, so both loops stream through memory and the inner loop is a
// contiguous copy when the stride is 1.
#include <algorithm>

#include <cblas.h>

#include "kernels/common/parallel.h"
#include "kernels/conv/conv.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0f,
              a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), 1.0,
              a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Output columns j whose input column j*stride + offset lies in [0, width): the range [lo, hi).
struct ValidRange {
  int64_t lo, hi;
};
ValidRange valid_columns(int64_t offset, int64_t stride, int64_t width, int64_t out_width) {
  const int64_t lo = std::min(out_width, offset >= 0 ? int64_t{0} : (-offset + stride - 1) / stride);
  const int64_t last = width - 1 - offset;  // the largest j*stride allowed
  const int64_t hi = last < 0 ? lo : std::clamp(last / stride + 1, lo, out_width);
  return {lo, hi};
}

// col[(c, p, q), (i, j)] = x[c, i*sh - ph + p*dh, j*sw - pw + q*dw], zero outside the image.
template <class T>
void im2col(const ConvGeometry& g, const T* x, T* col) {
  const int64_t out_w = g.out_w;
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const T* plane = x + c * g.in_pixels();
    for (int64_t p = 0; p < g.kernel_h; ++p) {
      for (int64_t q = 0; q < g.kernel_w; ++q) {
        T* row = col + ((c * g.kernel_h + p) * g.kernel_w + q) * g.out_pixels();
        const int64_t offset = q * g.dilation_w - g.pad_w;
        const ValidRange cols = valid_columns(offset, g.stride_w, g.in_w, out_w);
        for (int64_t i = 0; i < g.out_h; ++i) {
          T* out = row + i * out_w;
          const int64_t h = i * g.stride_h - g.pad_h + p * g.dilation_h;
          if (h < 0 || h >= g.in_h) {
            std::fill(out, out + out_w, T(0));
            continue;
          }
          const T* src = plane + h * g.in_w + offset;
          std::fill(out, out + cols.lo, T(0));
          if (g.stride_w == 1) {
            std::copy(src + cols.lo, src + cols.hi, out + cols.lo);
          } else {
            for (int64_t j = cols.lo; j < cols.hi; ++j) out[j] = src[j * g.stride_w];
          }
          std::fill(out + cols.hi, out + out_w, T(0));
        }
      }
    }
  }
}

// The adjoint of im2col: x[c, h, w] += every col entry im2col read from it. x must start zeroed.
template <class T>
void col2im(const ConvGeometry& g, const T* col, T* x) {
  const int64_t out_w = g.out_w;
  for (int64_t c = 0; c < g.in_channels; ++c) {
    T* plane = x + c * g.in_pixels();
    for (int64_t p = 0; p < g.kernel_h; ++p) {
      for (int64_t q = 0; q < g.kernel_w; ++q) {
        const T* row = col + ((c * g.kernel_h + p) * g.kernel_w + q) * g.out_pixels();
        const int64_t offset = q * g.dilation_w - g.pad_w;
        const ValidRange cols = valid_columns(offset, g.stride_w, g.in_w, out_w);
        for (int64_t i = 0; i < g.out_h; ++i) {
          const int64_t h = i * g.stride_h - g.pad_h + p * g.dilation_h;
          if (h < 0 || h >= g.in_h) continue;
          const T* in = row + i * out_w;
          T* dst = plane + h * g.in_w + offset;
          if (g.stride_w == 1) {
            for (int64_t j = cols.lo; j < cols.hi; ++j) dst[j] += in[j];
          } else {
            for (int64_t j = cols.lo; j < cols.hi; ++j) dst[j * g.stride_w] += in[j];
          }
        }
      }
    }
  }
}

// Multiply-adds per thread below which splitting the batch costs more than it saves (~50 us of GEMM).
constexpr int64_t kMacsPerSlice = int64_t{1} << 19;

// How many slices a batch splits into: one per thread, but no more than the work fills.
int64_t batch_slices(const ConvGeometry& g) {
  const int64_t macs = g.batch * g.out_channels * g.patch_size() * g.out_pixels();
  const int64_t most = std::max<int64_t>(1, std::min<int64_t>(g.batch, get_num_threads()));
  return std::clamp<int64_t>(macs / kMacsPerSlice, 1, most);
}

// Calls body(begin, end, scratch, slice) for each of `slices` contiguous slices of the batch, in parallel;
// slice s gets the s-th slice_size elements of scratch.
template <class T, class F>
void for_each_batch_slice(int64_t batch, int64_t slices, const Tensor& scratch, int64_t slice_size, const F& body) {
  T* base = static_cast<T*>(scratch.raw_data());
  if (slices == 1) {
    body(int64_t{0}, batch, base, int64_t{0});
    return;
  }
  parallel_for(0, slices, 1, [&](int64_t first, int64_t last) {
    for (int64_t s = first; s < last; ++s) body(s * batch / slices, (s + 1) * batch / slices, base + s * slice_size, s);
  });
}

template <class T>
void conv2d_typed(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const bool direct = g.col_is_input();
  const int64_t slices = batch_slices(g), col_size = direct ? 0 : K * P;
  const Tensor scratch = empty({slices * col_size}, dtype_of<T>());
  for_each_batch_slice<T>(g.batch, slices, scratch, col_size, [&](int64_t begin, int64_t end, T* col, int64_t) {
    for (int64_t n = begin; n < end; ++n) {
      const T* xn = x + n * image;
      T* yn = y + n * O * P;
      if (!direct) im2col(g, xn, col);
      // The bias goes in first and the GEMM adds onto it (beta = 1): no second pass over y.
      if (bias)
        for (int64_t o = 0; o < O; ++o) std::fill(yn + o * P, yn + (o + 1) * P, bias[o]);
      gemm(CblasNoTrans, CblasNoTrans, O, P, K, w, K, direct ? xn : col, P, T(bias ? 1 : 0), yn, P);
    }
  });
}

template <class T>
void conv2d_backward_input_typed(const ConvGeometry& g, const T* grad_y, const T* w, T* grad_x) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const bool direct = g.col_is_input();
  const int64_t slices = batch_slices(g), col_size = direct ? 0 : K * P;
  const Tensor scratch = empty({slices * col_size}, dtype_of<T>());
  for_each_batch_slice<T>(g.batch, slices, scratch, col_size, [&](int64_t begin, int64_t end, T* col, int64_t) {
    for (int64_t n = begin; n < end; ++n) {
      const T* gyn = grad_y + n * O * P;
      T* gxn = grad_x + n * image;
      // grad col = W^T @ grad y[n]; with a direct kernel grad col is grad x[n] itself.
      gemm(CblasTrans, CblasNoTrans, K, P, O, w, K, gyn, P, T(0), direct ? gxn : col, P);
      if (!direct) {
        std::fill(gxn, gxn + image, T(0));
        col2im(g, col, gxn);
      }
    }
  });
}

template <class T>
void conv2d_backward_weight_typed(const ConvGeometry& g, const T* x, const T* grad_y, T* grad_w) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const bool direct = g.col_is_input();
  const int64_t col_size = direct ? 0 : K * P;
  // Scratch per slice: a col buffer, then the slice's partial grad W (slice 0 writes grad_w directly).
  const int64_t slices = batch_slices(g), slice_size = col_size + O * K;
  const Tensor scratch = empty({slices * slice_size}, dtype_of<T>());
  for_each_batch_slice<T>(g.batch, slices, scratch, slice_size, [&](int64_t begin, int64_t end, T* own, int64_t slice) {
    T* col = own;
    T* acc = slice == 0 ? grad_w : own + col_size;
    for (int64_t n = begin; n < end; ++n) {
      const T* xn = x + n * image;
      if (!direct) im2col(g, xn, col);
      gemm(CblasNoTrans, CblasTrans, O, K, P, grad_y + n * O * P, P, direct ? xn : col, P, T(n == begin ? 0 : 1), acc, K);
    }
  });
  const int64_t total = O * K;
  for (int64_t s = 1; s < slices; ++s) {
    const T* part = static_cast<const T*>(scratch.raw_data()) + s * slice_size + col_size;
    parallel_for(0, total, kElementwiseGrain, [&](int64_t first, int64_t last) {
      for (int64_t i = first; i < last; ++i) grad_w[i] += part[i];
    });
  }
}

// The kernels compute in float32 or float64 (BLAS has no 16-bit GEMM); conv2d's front end converts 16-bit
// tensors to float32 before calling them.
template <class F>
void dispatch_blas_dtype(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) return f(type_tag<float>{});
  if (dtype == DType::Float64) return f(type_tag<double>{});
  TRIFECTA_FAIL(op, "the CPU kernel takes float32 or float64, got ", dtype_name(dtype));
}

void conv2d_cpu(const ConvGeometry& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& y) {
  dispatch_blas_dtype(x.dtype(), "conv2d", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_typed<T>(g, static_cast<const T*>(x.raw_data()), static_cast<const T*>(weight.raw_data()),
                    bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr, static_cast<T*>(y.raw_data()));
  });
}

void conv2d_backward_input_cpu(const ConvGeometry& g, const Tensor& grad_y, const Tensor& weight, const Tensor& grad_x) {
  dispatch_blas_dtype(grad_y.dtype(), "conv2d_backward_input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_backward_input_typed<T>(g, static_cast<const T*>(grad_y.raw_data()), static_cast<const T*>(weight.raw_data()),
                                   static_cast<T*>(grad_x.raw_data()));
  });
}

void conv2d_backward_weight_cpu(const ConvGeometry& g, const Tensor& x, const Tensor& grad_y, const Tensor& grad_weight) {
  dispatch_blas_dtype(x.dtype(), "conv2d_backward_weight", [&](auto tag) {
    using T = typename decltype(tag)::type;
    conv2d_backward_weight_typed<T>(g, static_cast<const T*>(x.raw_data()), static_cast<const T*>(grad_y.raw_data()),
                                    static_cast<T*>(grad_weight.raw_data()));
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(conv2d, CPU, &conv2d_cpu);
TRIFECTA_REGISTER_KERNEL(conv2d_backward_input, CPU, &conv2d_backward_input_cpu);
TRIFECTA_REGISTER_KERNEL(conv2d_backward_weight, CPU, &conv2d_backward_weight_cpu);

}  // namespace trifecta
