// CPU convolution: im2col + OpenBLAS GEMM (see conv.h for the matrices), the batch split into one slice per
// thread. Each slice owns a col buffer and calls single-threaded GEMMs, so the threads never synchronize
// until the weight gradient's per-slice partial sums are added, in slice order (the result depends on the
// thread count, never on timing). A batch too small to split (one image, or too little work to pay for
// waking threads) runs as one slice, and OpenBLAS may spread its GEMMs over its own threads. Within a slice,
// images on small maps share GEMMs (kGemmColumns below), so a 7x7 map does not make 49-column products.
//
// The float32 forward on wide maps skips im2col and BLAS: conv2d_implicit_gemm below packs the input straight
// into the panels of our own GEMM (conv_gemm_cpu.h), where it measured faster (implicit_gemm_pays).
//
// im2col and col2im walk col row by row: one row is one (channel, kernel tap) pair, and for a fixed kernel
// row p each output row i reads one input row, so both loops stream through memory and the inner loop is a
// contiguous copy when the stride is 1. Strided or narrow outputs go through a table of offsets instead
// (TapTable below).
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <cblas.h>

#include "kernels/common/parallel.h"
#include "kernels/conv/conv.h"
#include "kernels/conv/conv_gemm_cpu.h"
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

// Small or strided maps: the row walk below would move a few elements at a time (7 per output row at
// 7x7), paying its bounds arithmetic for each. There each channel is copied once into a plane with a zero
// border wide enough for every window, and each kernel tap (p, q) moves its P entries through a table of
// offsets into that plane: col row (c, p, q) entry (i, j) is padded[(i*sh + p*dh) * padded_w + j*sw + q*dw],
// the border supplying the zeros.
constexpr int64_t kNarrowRow = 16;  // output rows shorter than this take the table

struct TapTable {
  int64_t padded_h = 0, padded_w = 0;
  std::vector<int64_t> offsets;  // [kh * kw, P]; empty: walk rows instead
};

TapTable tap_table(const ConvGeometry& g) {
  TapTable t;
  if (g.stride_w == 1 && g.out_w >= kNarrowRow) return t;
  // Rows from -pad_h: the window's last row, or the image's, whichever lies further.
  t.padded_h = std::max((g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1, g.in_h + g.pad_h);
  t.padded_w = std::max((g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1, g.in_w + g.pad_w);
  t.offsets.resize(static_cast<size_t>(g.kernel_h * g.kernel_w * g.out_pixels()));
  int64_t* offset = t.offsets.data();
  for (int64_t p = 0; p < g.kernel_h; ++p)
    for (int64_t q = 0; q < g.kernel_w; ++q)
      for (int64_t i = 0; i < g.out_h; ++i)
        for (int64_t j = 0; j < g.out_w; ++j)
          *offset++ = (i * g.stride_h + p * g.dilation_h) * t.padded_w + j * g.stride_w + q * g.dilation_w;
  return t;
}

// col[(c, p, q), (i, j)] = x[c, i*sh - ph + p*dh, j*sw - pw + q*dw], zero outside the image; col's rows lie
// ld apart (ld > P when several images share one col, side by side).
template <class T>
void im2col(const ConvGeometry& g, const TapTable& table, const T* x, T* col, int64_t ld) {
  const int64_t out_w = g.out_w, P = g.out_pixels(), taps = g.kernel_h * g.kernel_w;
  if (!table.offsets.empty()) {
    std::vector<T> padded(static_cast<size_t>(table.padded_h * table.padded_w), T(0));
    for (int64_t c = 0; c < g.in_channels; ++c) {
      const T* plane = x + c * g.in_pixels();
      for (int64_t h = 0; h < g.in_h; ++h)
        std::copy_n(plane + h * g.in_w, g.in_w, padded.data() + (h + g.pad_h) * table.padded_w + g.pad_w);
      for (int64_t tap = 0; tap < taps; ++tap) {
        T* row = col + (c * taps + tap) * ld;
        const int64_t* offset = table.offsets.data() + tap * P;
        for (int64_t i = 0; i < P; ++i) row[i] = padded[static_cast<size_t>(offset[i])];
      }
    }
    return;
  }
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const T* plane = x + c * g.in_pixels();
    for (int64_t p = 0; p < g.kernel_h; ++p) {
      for (int64_t q = 0; q < g.kernel_w; ++q) {
        T* row = col + ((c * g.kernel_h + p) * g.kernel_w + q) * ld;
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

// The adjoint of im2col: x[c, h, w] += every col entry im2col read from it (with the table: each tap adds
// its entries into the bordered plane, whose interior then adds onto x; what lands in the border was read
// from padding and is dropped). x must start zeroed.
template <class T>
void col2im(const ConvGeometry& g, const TapTable& table, const T* col, int64_t ld, T* x) {
  const int64_t out_w = g.out_w, P = g.out_pixels(), taps = g.kernel_h * g.kernel_w;
  if (!table.offsets.empty()) {
    std::vector<T> padded(static_cast<size_t>(table.padded_h * table.padded_w));
    for (int64_t c = 0; c < g.in_channels; ++c) {
      std::fill(padded.begin(), padded.end(), T(0));
      for (int64_t tap = 0; tap < taps; ++tap) {
        const T* row = col + (c * taps + tap) * ld;
        const int64_t* offset = table.offsets.data() + tap * P;
        for (int64_t i = 0; i < P; ++i) padded[static_cast<size_t>(offset[i])] += row[i];
      }
      T* plane = x + c * g.in_pixels();
      for (int64_t h = 0; h < g.in_h; ++h) {
        const T* from = padded.data() + (h + g.pad_h) * table.padded_w + g.pad_w;
        for (int64_t w = 0; w < g.in_w; ++w) plane[h * g.in_w + w] += from[w];
      }
    }
    return;
  }
  for (int64_t c = 0; c < g.in_channels; ++c) {
    T* plane = x + c * g.in_pixels();
    for (int64_t p = 0; p < g.kernel_h; ++p) {
      for (int64_t q = 0; q < g.kernel_w; ++q) {
        const T* row = col + ((c * g.kernel_h + p) * g.kernel_w + q) * ld;
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

// Columns a GEMM should have at least. On small maps one image's col has few columns (49 at 7x7), too few
// for OpenBLAS's packed panels to pay off, so neighbouring images share one GEMM: their cols sit side by
// side in one [K, images * P] matrix.
constexpr int64_t kGemmColumns = 256;

// How a batch is cut and what each cut needs: `slices` contiguous slices, one per thread, each walked in
// groups of at most `group` images that share a GEMM; per slice, scratch for col (none when direct: a lone
// image's col is the image itself, g.col_is_input()) and for one [O, group * P] matrix when groups hold
// several images.
struct ConvPlan {
  int64_t slices, group;
  bool direct;
  int64_t col_size, matrix_size;
  TapTable table;
};

ConvPlan conv_plan(const ConvGeometry& g) {
  const int64_t K = g.patch_size(), P = g.out_pixels();
  const int64_t macs = g.batch * g.out_channels * K * P;
  const int64_t most = std::max<int64_t>(1, std::min<int64_t>(g.batch, get_num_threads()));
  ConvPlan plan;
  plan.slices = std::clamp<int64_t>(macs / kMacsPerSlice, 1, most);
  const int64_t longest_slice = (g.batch + plan.slices - 1) / plan.slices;
  plan.group = std::clamp<int64_t>((kGemmColumns + P - 1) / P, 1, longest_slice);
  plan.direct = g.col_is_input() && plan.group == 1;
  plan.col_size = plan.direct ? 0 : K * plan.group * P;
  plan.matrix_size = plan.group > 1 ? g.out_channels * plan.group * P : 0;
  plan.table = tap_table(g);
  return plan;
}

// A slice's scratch: col (plan.col_size elements), the group matrix (plan.matrix_size) and `extra` more;
// slice s's lies at s * (their sum) in a tensor holding all slices'.
template <class T>
struct SliceScratch {
  T* col;
  T* matrix;
  T* extra;
};

template <class T>
SliceScratch<T> slice_scratch(const ConvPlan& plan, const Tensor& scratch, int64_t extra, int64_t s) {
  T* own = static_cast<T*>(scratch.raw_data()) + s * (plan.col_size + plan.matrix_size + extra);
  return {own, own + plan.col_size, own + plan.col_size + plan.matrix_size};
}

// Calls body(begin, end, scratch, slice) for each of the plan's contiguous slices of the batch, in parallel,
// each with its own SliceScratch; returns the tensor holding them all.
template <class T, class F>
Tensor for_each_batch_slice(const ConvGeometry& g, const ConvPlan& plan, int64_t extra, const F& body) {
  const int64_t batch = g.batch, slices = plan.slices;
  Tensor scratch = empty({slices * (plan.col_size + plan.matrix_size + extra)}, dtype_of<T>());
  const auto run = [&](int64_t s) {
    body(s * batch / slices, (s + 1) * batch / slices, slice_scratch<T>(plan, scratch, extra, s), s);
  };
  if (slices == 1) {
    run(0);
  } else {
    parallel_for(0, slices, 1, [&](int64_t first, int64_t last) {
      for (int64_t s = first; s < last; ++s) run(s);
    });
  }
  return scratch;
}

// Calls body(first, count) for runs of neighbouring images covering [begin, end), each at most `group` long
// and all of near-equal length.
template <class F>
void for_each_group(int64_t begin, int64_t end, int64_t group, const F& body) {
  const int64_t length = end - begin, groups = (length + group - 1) / group;
  for (int64_t k = 0; k < groups; ++k) {
    const int64_t first = begin + length * k / groups, last = begin + length * (k + 1) / groups;
    body(first, last - first);
  }
}

// Between `count` images of [rows, P] (image j at images + j * rows * P) and one [rows, count * P] matrix
// holding image j in columns j*P to (j+1)*P, the layout of a shared GEMM. to_images adds bias[row] when given.
template <class T>
void images_to_matrix(const T* images, int64_t count, int64_t rows, int64_t P, T* matrix) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < count; ++j) std::copy_n(images + (j * rows + r) * P, P, matrix + (r * count + j) * P);
}
template <class T>
void matrix_to_images(const T* matrix, int64_t count, int64_t rows, int64_t P, const T* bias, T* images) {
  for (int64_t r = 0; r < rows; ++r) {
    const T b = bias ? bias[r] : T(0);
    for (int64_t j = 0; j < count; ++j) {
      const T* from = matrix + (r * count + j) * P;
      T* to = images + (j * rows + r) * P;
      for (int64_t i = 0; i < P; ++i) to[i] = from[i] + b;
    }
  }
}

// Each conv kernel below runs one GEMM per group: a group of one image multiplies in place (col may then be
// the image itself, g.col_is_input()); a larger one gathers or scatters its images' [rows, P] planes
// through a [rows, count * P] matrix.

template <class T>
void conv2d_typed(const ConvGeometry& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const ConvPlan plan = conv_plan(g);
  for_each_batch_slice<T>(g, plan, 0, [&](int64_t begin, int64_t end, const SliceScratch<T>& own, int64_t) {
    T* col = own.col;
    for_each_group(begin, end, plan.group, [&](int64_t first, int64_t count) {
      const int64_t ld = count * P;
      const T* xn = x + first * image;
      T* yn = y + first * O * P;
      if (!plan.direct)
        for (int64_t j = 0; j < count; ++j) im2col(g, plan.table, xn + j * image, col + j * P, ld);
      if (count > 1) {
        gemm(CblasNoTrans, CblasNoTrans, O, ld, K, w, K, col, ld, T(0), own.matrix, ld);
        matrix_to_images(own.matrix, count, O, P, bias, yn);
        return;
      }
      // The bias goes in first and the GEMM adds onto it (beta = 1): no second pass over y.
      if (bias)
        for (int64_t o = 0; o < O; ++o) std::fill(yn + o * P, yn + (o + 1) * P, bias[o]);
      gemm(CblasNoTrans, CblasNoTrans, O, P, K, w, K, plan.direct ? xn : col, P, T(bias ? 1 : 0), yn, P);
    });
  });
}

// float32 forward as an implicit GEMM (conv_gemm_cpu.h) over phase planes, so that every col row the
// micro-kernel reads is one contiguous run of memory and packing a B panel is a 64-byte copy.
//
// Pad each image with zeros and split it, for stride s, into s_h * s_w phase planes: phase (a, b) holds
// padded[u*sh + a, v*sw + b] (a stride-1 convolution has one phase, the padded image). Kernel tap (p, q)
// reads padded[i*sh + p*dh, j*sw + q*dw] = phase((p*dh) % sh, (q*dw) % sw)[i + p*dh/sh, j + q*dw/sw]: a
// stride-1 window. Numbering the output (i, j) as i*Wq + j over the phase width Wq (not the output width)
// makes col row (c, p, q) the run of the phase plane starting at (p*dh/sh)*Wq + q*dw/sw. The columns with
// j >= out_w are computed and dropped (Wq - out_w of every Wq: 2/30 at 28x28 pad 1, 1/8 at 14 -> 7 stride
// 2), the price of a packing pass with no per-entry index or bounds arithmetic.
struct PhasePlanes {
  int64_t height, width, plane;  // Hq, Wq; plane: Hq * Wq plus one row of slack the dropped columns overrun
  int64_t per_image;             // C * sh * sw planes

  explicit PhasePlanes(const ConvGeometry& g) {
    const int64_t padded_h = std::max((g.out_h - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 1, g.in_h + g.pad_h);
    const int64_t padded_w = std::max((g.out_w - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 1, g.in_w + g.pad_w);
    height = (padded_h + g.stride_h - 1) / g.stride_h;
    width = (padded_w + g.stride_w - 1) / g.stride_w;
    plane = (height + 1) * width;
    per_image = g.in_channels * g.stride_h * g.stride_w * plane;
  }

  // Writes image x's planes to out, whose padding entries are zero already (they are never written).
  void fill(const ConvGeometry& g, const float* x, float* out) const {
    for (int64_t c = 0; c < g.in_channels; ++c)
      for (int64_t h = 0; h < g.in_h; ++h) {
        const int64_t r = h + g.pad_h, a = r % g.stride_h;
        const float* src = x + (c * g.in_h + h) * g.in_w;
        if (g.stride_w == 1) {
          std::copy_n(src, g.in_w, out + (c * g.stride_h + a) * plane + (r / g.stride_h) * width + g.pad_w);
          continue;
        }
        for (int64_t b = 0; b < g.stride_w; ++b) {
          float* dst = out + ((c * g.stride_h + a) * g.stride_w + b) * plane + (r / g.stride_h) * width;
          // Input column w lands in phase (w + pad_w) % sw at (w + pad_w) / sw.
          for (int64_t w = (b - g.pad_w % g.stride_w + g.stride_w) % g.stride_w; w < g.in_w; w += g.stride_w)
            dst[(w + g.pad_w) / g.stride_w] = src[w];
        }
      }
  }

  // Offset within an image's planes of col row (c, p, q)'s run.
  int64_t row_start(const ConvGeometry& g, int64_t c, int64_t p, int64_t q) const {
    const int64_t dy = p * g.dilation_h, dx = q * g.dilation_w;
    return ((c * g.stride_h + dy % g.stride_h) * g.stride_w + dx % g.stride_w) * plane + (dy / g.stride_h) * width +
           dx / g.stride_w;
  }
};

// Whether the implicit GEMM beats im2col + BLAS here, measured single-threaded on AMD Zen 4 (bench/results/
// 2026-12-01-cpu-conv-*.md): the dropped columns cost what the skipped unfold and repack save once they pass
// about 1/20 of the columns. 3x3 pad 1 at 56x56 (2/58 dropped) ran 0.7-0.9x BLAS's time, at 28x28 (2/30) the
// same time, at 14x14 (2/16) and 4x4 stride 2 to 7x7 (1/8) 1.1-1.3x. The one-channel layers (K = 16) lost
// too: too little GEMM per packed entry.
bool implicit_gemm_pays(const ConvGeometry& g) {
  const PhasePlanes phases(g);
  return 20 * (phases.width - g.out_w) <= phases.width && g.patch_size() >= 32;
}

void conv2d_implicit_gemm(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  const int64_t O = g.out_channels, P = g.out_pixels(), image = g.in_channels * g.in_pixels();
  const int64_t taps = g.kernel_h * g.kernel_w;
  const PhasePlanes phases(g);
  const int64_t E = g.out_h * phases.width;  // columns per image, the dropped ones included
  ConvPlan plan = conv_plan(g);
  plan.col_size = plan.matrix_size = 0;  // neither col nor the BLAS path's group matrix
  const conv_gemm::PackedA packed_w = conv_gemm::pack_a(conv_gemm::best_tile(), w, O, g.patch_size(), bias);
  const int64_t NR = packed_w.tile.columns;
  std::vector<int64_t> starts(static_cast<size_t>(g.patch_size()));  // of col row k = (c, p, q)'s run
  for (int64_t k = 0; k < g.patch_size(); ++k)
    starts[static_cast<size_t>(k)] = phases.row_start(g, k / taps, k % taps / g.kernel_w, k % taps % g.kernel_w);
  for_each_batch_slice<float>(g, plan, 0, [&](int64_t begin, int64_t end, const SliceScratch<float>&, int64_t) {
    std::vector<float> planes(static_cast<size_t>(plan.group * phases.per_image), 0.0f);
    std::vector<float> product(static_cast<size_t>(O * plan.group * E));
    conv_gemm::AlignedBuffer block;
    for_each_group(begin, end, plan.group, [&](int64_t first, int64_t count) {
      for (int64_t n = 0; n < count; ++n) phases.fill(g, x + (first + n) * image, planes.data() + n * phases.per_image);
      const int64_t columns = count * E;
      // B[k0 : k0 + depth, n0 : n0 + nc] as NR-column panels: column n*E + e of row (c, p, q) is entry e of
      // image n's run for (c, p, q).
      const auto pack = [&](int64_t k0, int64_t depth, int64_t n0, int64_t nc, float* panels) {
        for (int64_t j = 0; j < nc; j += NR) {
          float* panel = panels + (j / NR) * depth * NR;
          const int64_t col = n0 + j, e = col % E, width = std::min(NR, nc - j);
          if (width == NR && e + NR <= E) {  // one run per row, from one image
            const float* image_planes = planes.data() + (col / E) * phases.per_image + e;
            for (int64_t k = k0; k < k0 + depth; ++k)
              conv_gemm::copy_panel_row(panel + (k - k0) * NR, image_planes + starts[static_cast<size_t>(k)], NR);
            continue;
          }
          // The last panel, or one straddling two images: a run from each image, then zeros.
          for (int64_t k = k0; k < k0 + depth; ++k) {
            float* row = panel + (k - k0) * NR;
            for (int64_t t = 0; t < width;) {
              const int64_t at = col + t, length = std::min(width - t, E - at % E);
              std::copy_n(planes.data() + (at / E) * phases.per_image + starts[static_cast<size_t>(k)] + at % E, length,
                          row + t);
              t += length;
            }
            std::fill(row + width, row + NR, 0.0f);
          }
        }
      };
      conv_gemm::gemm(packed_w, columns, pack, product.data(), columns, block);
      for (int64_t n = 0; n < count; ++n)
        for (int64_t o = 0; o < O; ++o)
          for (int64_t i = 0; i < g.out_h; ++i)
            std::copy_n(product.data() + o * columns + n * E + i * phases.width, g.out_w,
                        y + ((first + n) * O + o) * P + i * g.out_w);
    });
  });
}

template <class T>
void conv2d_backward_input_typed(const ConvGeometry& g, const T* grad_y, const T* w, T* grad_x) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const ConvPlan plan = conv_plan(g);
  for_each_batch_slice<T>(g, plan, 0, [&](int64_t begin, int64_t end, const SliceScratch<T>& own, int64_t) {
    T* col = own.col;
    for_each_group(begin, end, plan.group, [&](int64_t first, int64_t count) {
      const int64_t ld = count * P;
      const T* gy = grad_y + first * O * P;
      T* gx = grad_x + first * image;
      if (count > 1) {
        images_to_matrix(gy, count, O, P, own.matrix);
        gy = own.matrix;
      }
      // grad col = W^T @ grad y; with a direct kernel grad col is grad x[n] itself.
      gemm(CblasTrans, CblasNoTrans, K, ld, O, w, K, gy, ld, T(0), plan.direct ? gx : col, ld);
      if (plan.direct) return;
      std::fill(gx, gx + count * image, T(0));
      for (int64_t j = 0; j < count; ++j) col2im(g, plan.table, col + j * P, ld, gx + j * image);
    });
  });
}

template <class T>
void conv2d_backward_weight_typed(const ConvGeometry& g, const T* x, const T* grad_y, T* grad_w) {
  const int64_t K = g.patch_size(), P = g.out_pixels(), O = g.out_channels, image = g.in_channels * g.in_pixels();
  const ConvPlan plan = conv_plan(g);
  // Past col and the group matrix, each slice's partial grad W (slice 0 writes grad_w directly).
  const Tensor scratch = for_each_batch_slice<T>(g, plan, O * K, [&](int64_t begin, int64_t end,
                                                                     const SliceScratch<T>& own, int64_t slice) {
    T* col = own.col;
    T* acc = slice == 0 ? grad_w : own.extra;
    for_each_group(begin, end, plan.group, [&](int64_t first, int64_t count) {
      const int64_t ld = count * P;
      const T* xn = x + first * image;
      const T* gy = grad_y + first * O * P;
      if (count > 1) {
        images_to_matrix(gy, count, O, P, own.matrix);
        gy = own.matrix;
      }
      if (!plan.direct)
        for (int64_t j = 0; j < count; ++j) im2col(g, plan.table, xn + j * image, col + j * P, ld);
      gemm(CblasNoTrans, CblasTrans, O, K, ld, gy, ld, plan.direct ? xn : col, ld, T(first == begin ? 0 : 1), acc, K);
    });
  });
  const int64_t total = O * K;
  for (int64_t s = 1; s < plan.slices; ++s) {
    const T* part = slice_scratch<T>(plan, scratch, total, s).extra;
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
    if constexpr (std::is_same_v<T, float>) {
      if (implicit_gemm_pays(g))
        return conv2d_implicit_gemm(g, static_cast<const float*>(x.raw_data()),
                                    static_cast<const float*>(weight.raw_data()),
                                    bias.defined() ? static_cast<const float*>(bias.raw_data()) : nullptr,
                                    static_cast<float*>(y.raw_data()));
    }
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
