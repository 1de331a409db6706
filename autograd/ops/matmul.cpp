// matmul's front end: PyTorch's promotion rules for 1-D operands, broadcasting of batch dims, and the
// backward rule. The kernels (kernels/matmul/) multiply [B, M, K] by [B, K, N] with one stride per batch,
// so this file turns an N-D broadcast product into as few such calls as the strides allow, without
// copying operands that BLAS can read in place.
//
// Backward of C = A B (per batch): dA = dC B^T and dB = A^T dC. An operand broadcast over batch dims
// received the same matrix in every product, so its gradient is summed over them (sum_to_shape). A 2-D
// column-major operand gets its gradient in its own layout (see column_major).
#include "autograd/ops/matmul.h"

#include <algorithm>

#include "autograd/ops/factories.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/matmul/matmul.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

// One batch dim of the product, or a run of them merged into one: its size and the element stride that
// steps a, b and the output along it (0 where that operand is broadcast).
struct BatchDim {
  int64_t size;
  int64_t stride_a, stride_b, stride_out;
};

Shape leading_dims(const Tensor& x) {
  Shape batch;
  for (int d = 0; d + 2 < x.ndim(); ++d) batch.push_back(x.size(d));
  return batch;
}

// The stride of x along each dim of the broadcast batch shape, 0 where x is broadcast.
std::vector<int64_t> batch_strides(const Tensor& x, const Shape& batch) {
  std::vector<int64_t> strides(batch.size(), 0);
  const int lead = batch.size() - (x.ndim() - 2);
  for (int d = lead; d < batch.size(); ++d)
    if (x.size(d - lead) != 1) strides[d] = x.stride(d - lead);
  return strides;
}

// The batch dims of a broadcast product with size-1 dims dropped and the innermost ones merged while one
// stride per operand still addresses them (dim d merges into the run after it when each operand's stride
// along d is the run's stride times the run's size). The last entry is the merged run; the kernel takes it
// in one call and the dims before it are looped over.
std::vector<BatchDim> plan_batch(const Tensor& a, const Tensor& b, const Shape& batch, int64_t matrix_numel) {
  const std::vector<int64_t> sa = batch_strides(a, batch), sb = batch_strides(b, batch);
  std::vector<BatchDim> dims;
  int64_t out_stride = matrix_numel;
  for (int d = batch.size() - 1; d >= 0; --d) {
    if (batch[d] != 1) dims.insert(dims.begin(), BatchDim{batch[d], sa[d], sb[d], out_stride});
    out_stride *= batch[d];
  }
  if (dims.empty()) return {{1, 0, 0, matrix_numel}};
  while (dims.size() > 1) {
    BatchDim& run = dims.back();
    const BatchDim& outer = dims[dims.size() - 2];
    if (outer.stride_a != run.stride_a * run.size || outer.stride_b != run.stride_b * run.size) break;
    run.size *= outer.size;
    dims.erase(dims.end() - 2);
  }
  return dims;
}

// x itself when BLAS can read its matrices in place (row- or column-major), else a row-major copy.
Tensor blas_readable(const Tensor& x) {
  if (blas_matrix(x)) return x;
  NoGradGuard no_grad;
  return x.contiguous();
}

// out = a · b for a, b of at least 2 dims whose inner dims agree; out is contiguous, of the broadcast
// batch shape. Each kernel call gets 3-D views of one run of batch dims (see plan_batch).
void batched_product(const Tensor& a_in, const Tensor& b_in, const Tensor& out) {
  const Tensor a = blas_readable(a_in), b = blas_readable(b_in);
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  std::vector<BatchDim> dims = plan_batch(a, b, leading_dims(out), m * n);
  const BatchDim run = dims.back();
  dims.pop_back();

  Shape a_shape{run.size, m, k}, out_shape{run.size, m, n};
  Strides a_strides{run.stride_a, a.stride(-2), a.stride(-1)}, out_strides{run.stride_out, n, 1};
  // A run in which b is one shared matrix and a's row-major matrices follow each other at a constant row
  // stride is a single [run * M, K] · [K, N] product (a linear layer over a batch of sequences).
  if (run.size > 1 && run.stride_b == 0 && !blas_matrix(a)->transposed) {
    const int64_t row_stride = m == 1 ? run.stride_a : a.stride(-2);
    if (run.stride_a == m * row_stride && row_stride >= k) {
      a_shape = {1, run.size * m, k};
      a_strides = {0, row_stride, 1};
      out_shape = {1, run.size * m, n};
      out_strides = {0, n, 1};
    }
  }
  const Shape b_shape{a_shape[0], k, n};
  const Strides b_strides{run.stride_b, b.stride(-2), b.stride(-1)};

  MatmulKernel* kernel = kernel_for<MatmulKernel>(OpId::matmul, out.device());
  // Walk the outer (unmerged) batch dims with an odometer over their indices.
  std::vector<int64_t> index(dims.size(), 0);
  int64_t offset_a = 0, offset_b = 0, offset_out = 0;
  while (true) {
    kernel(as_strided(a, a_shape, a_strides, a.offset() + offset_a), as_strided(b, b_shape, b_strides, b.offset() + offset_b),
           as_strided(out, out_shape, out_strides, out.offset() + offset_out));
    int d = static_cast<int>(dims.size()) - 1;
    for (; d >= 0; --d) {
      offset_a += dims[d].stride_a, offset_b += dims[d].stride_b, offset_out += dims[d].stride_out;
      if (++index[d] < dims[d].size) break;
      offset_a -= dims[d].stride_a * dims[d].size, offset_b -= dims[d].stride_b * dims[d].size;
      offset_out -= dims[d].stride_out * dims[d].size;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

// A 2-D operand stored column-major, such as a linear layer's weight W seen as W^T. Its gradient is
// computed in the same layout, as the transpose of a row-major product, so that after the transpose's own
// backward it reaches W.grad row-major and accumulating it needs no transposing copy (PyTorch's
// mm_mat2_backward does the same).
bool column_major(const Tensor& x) {
  return x.ndim() == 2 && x.size(0) > 1 && x.size(1) > 1 && x.stride(0) == 1 && x.stride(1) >= x.size(0);
}

// The product of operands with at least 2 dims each, recorded for autograd.
Tensor matmul_batched(const Tensor& a, const Tensor& b) {
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const Shape batch_a = leading_dims(a), batch_b = leading_dims(b);
  for (int i = 1; i <= std::min(batch_a.size(), batch_b.size()); ++i) {
    const int64_t da = batch_a[batch_a.size() - i], db = batch_b[batch_b.size() - i];
    TRIFECTA_CHECK(da == db || da == 1 || db == 1, "matmul", "batch dimensions of ", a.shape().str(), " and ",
                   b.shape().str(), " do not broadcast (", da, " vs ", db, ")");
  }
  Shape out_shape = broadcast_shapes(batch_a, batch_b, "matmul");
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out;
  if (k == 0) {
    out = zeros(out_shape, a.options());  // an empty sum
  } else {
    out = empty(out_shape, a.options());
    if (out.numel() > 0) batched_product(a, b, out);
  }
  const bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
  record(OpId::matmul, {a, b}, {out},
         [grad_a, grad_b, sa = grad_b ? SavedTensor(a) : SavedTensor(), sb = grad_a ? SavedTensor(b) : SavedTensor(),
          a_shape = a.shape(), b_shape = b.shape(), a_column_major = column_major(a),
          b_column_major = column_major(b)](const Grads& g) {
           Tensor da, db;
           if (grad_a) {
             const Tensor bv = sb.unpack("matmul");
             if (a_column_major && g[0].ndim() == 2) da = matmul(bv, g[0].t()).t();  // (B dC^T)^T = dC B^T
             else da = sum_to_shape(matmul(g[0], bv.transpose(-1, -2)), a_shape);
           }
           if (grad_b) {
             const Tensor av = sa.unpack("matmul");
             if (b_shape.size() == 2) {
               // A 2-D b shared by a batch of a's: sum_i A_i^T dC_i is one product of the stacked rows.
               const Tensor rows = av.ndim() > 2 ? av.reshape({-1, av.size(-1)}) : av;
               const Tensor grad_rows = g[0].ndim() > 2 ? g[0].reshape({-1, g[0].size(-1)}) : g[0];
               db = b_column_major ? matmul(grad_rows.t(), rows).t()  // (dC^T A)^T = A^T dC
                                   : matmul(rows.t(), grad_rows);
             } else {
               db = sum_to_shape(matmul(av.transpose(-1, -2), g[0]), b_shape);
             }
           }
           return Grads{da, db};
         });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  TRIFECTA_CHECK(a.defined() && b.defined(), "matmul", "undefined operand");
  TRIFECTA_CHECK(a.ndim() >= 1 && b.ndim() >= 1, "matmul", "both operands need at least 1 dimension, got ", a.str(),
                 " and ", b.str());
  TRIFECTA_CHECK(a.dtype() == b.dtype(), "matmul", "operands have different dtypes: ", a.str(), " and ", b.str());
  TRIFECTA_CHECK(is_floating(a.dtype()), "matmul", "needs floating operands, got ", a.str(), " and ", b.str());
  TRIFECTA_CHECK(a.device() == b.device(), "matmul", "operands on different devices: ", a.str(), " and ", b.str());
  const int64_t ka = a.size(-1), kb = b.ndim() == 1 ? b.size(0) : b.size(-2);
  TRIFECTA_CHECK(ka == kb, "matmul", "inner dimensions disagree: ", a.shape().str(), " · ", b.shape().str(), " (", ka,
                 " vs ", kb, ")");
  // 1-D operands become matrices ([K] -> [1, K] on the left, [K, 1] on the right) and lose that dim after.
  Tensor out = matmul_batched(a.ndim() == 1 ? a.unsqueeze(0) : a, b.ndim() == 1 ? b.unsqueeze(1) : b);
  if (a.ndim() == 1) out = out.squeeze(-2);
  if (b.ndim() == 1) out = out.squeeze(-1);
  return out;
}

}  // namespace trifecta
