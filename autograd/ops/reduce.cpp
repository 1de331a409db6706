// Front ends of the reductions and their backward rules, all written with other ops: the gradient of a
// reduction is the incoming gradient broadcast back over the reduced dims, times the local derivative.
#include "autograd/ops/reduce.h"

#include <algorithm>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/factories.h"
#include "autograd/record.h"
#include "kernels/reduce/reduce_ops.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

struct Reduction {
  std::vector<bool> reduced;  // per input dim
  Shape keep_shape;           // input shape with reduced dims set to 1
  Shape out_shape;            // keep_shape without them unless keepdim
};

Reduction plan_reduction(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  TRIFECTA_CHECK(x.defined(), op, "undefined input");
  TRIFECTA_CHECK(x.dtype() != DType::Bool, op, "cannot reduce a bool tensor (", x.str(),
                 "); convert it with .to(DType::Int64) first");
  Reduction r;
  r.reduced.assign(x.ndim(), dims.empty());
  for (int64_t d : dims) {
    const int w = wrap_dim(d, x.ndim(), op);
    TRIFECTA_CHECK(x.ndim() > 0 || d == 0 || d == -1, op, "dim ", d, " out of range for a 0-dim tensor");
    if (x.ndim() == 0) continue;
    TRIFECTA_CHECK(!r.reduced[w] || dims.empty(), op, "dim ", d, " listed twice");
    r.reduced[w] = true;
  }
  for (int d = 0; d < x.ndim(); ++d) {
    r.keep_shape.push_back(r.reduced[d] ? 1 : x.shape()[d]);
    if (!r.reduced[d] || keepdim) r.out_shape.push_back(r.keep_shape[d]);
  }
  return r;
}

Tensor run_reduce(OpId op, ReduceOp kind, const Tensor& x, const Reduction& r, DType out_dtype, double param = 0.0) {
  Tensor out = empty(r.keep_shape, {out_dtype, x.device()});
  kernel_for<ReduceKernel>(op, x.device())(kind, x, out, param);
  return out.view(r.out_shape);
}

// The incoming gradient with the reduced dims restored as size 1, so it broadcasts against the input.
Tensor unsqueeze_grad(const Tensor& g, const Shape& keep_shape) { return g.reshape(keep_shape); }

Tensor extremum(OpId op, ReduceOp kind, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction(op_name(op), x, dims, keepdim);
  TRIFECTA_CHECK(x.numel() > 0, op_name(op), "cannot reduce an empty tensor");
  Tensor y = run_reduce(op, kind, x, r, x.dtype());
  record(op, {x}, {y}, [op, keep = r.keep_shape, sx = SavedTensor(x), sy = SavedTensor(y)](const Grads& g) {
    // d max / dx_i = [x_i == max] / (number of ties).
    const Tensor xv = sx.unpack(op_name(op)), yk = sy.unpack(op_name(op)).reshape(keep);
    const Tensor hits = eq(xv, yk).to(xv.dtype());
    const std::vector<int64_t> all_reduced = [&] {
      std::vector<int64_t> d;
      for (int i = 0; i < keep.size(); ++i)
        if (keep[i] == 1 && xv.shape()[i] != 1) d.push_back(i);
      return d;
    }();
    const Tensor ties = all_reduced.empty() ? ones_like(yk) : sum(hits, all_reduced, true);
    return Grads{mul(hits, div(unsqueeze_grad(g[0], keep), ties))};
  });
  return y;
}

Tensor arg_extremum(OpId op, ReduceOp kind, const Tensor& x, int64_t dim, bool keepdim) {
  const Reduction r = plan_reduction(op_name(op), x, {dim}, keepdim);
  TRIFECTA_CHECK(x.numel() > 0, op_name(op), "cannot reduce an empty tensor");
  return run_reduce(op, kind, x, r, DType::Int64);
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction("sum", x, dims, keepdim);
  Tensor y = run_reduce(OpId::sum, ReduceOp::Sum, x, r, x.dtype());
  record(OpId::sum, {x}, {y}, [keep = r.keep_shape, in_shape = x.shape()](const Grads& g) {
    return Grads{unsqueeze_grad(g[0], keep).expand(in_shape)};
  });
  return y;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction("mean", x, dims, keepdim);
  TRIFECTA_CHECK(is_floating(x.dtype()), "mean", "needs a floating dtype, got ", dtype_name(x.dtype()));
  Tensor y = run_reduce(OpId::mean, ReduceOp::Mean, x, r, x.dtype());
  const int64_t count = r.keep_shape.numel() == 0 ? 0 : x.numel() / r.keep_shape.numel();
  record(OpId::mean, {x}, {y}, [keep = r.keep_shape, in_shape = x.shape(), count](const Grads& g) {
    return Grads{div(unsqueeze_grad(g[0], keep), static_cast<double>(count)).expand(in_shape)};
  });
  return y;
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum(OpId::amax, ReduceOp::Amax, x, dims, keepdim);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extremum(OpId::amin, ReduceOp::Amin, x, dims, keepdim);
}

Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction("logsumexp", x, dims, keepdim);
  TRIFECTA_CHECK(is_floating(x.dtype()), "logsumexp", "needs a floating dtype, got ", dtype_name(x.dtype()));
  Tensor y = run_reduce(OpId::logsumexp, ReduceOp::LogSumExp, x, r, x.dtype());
  // d lse / dx_i = exp(x_i - lse): the softmax.
  record(OpId::logsumexp, {x}, {y}, [keep = r.keep_shape, sx = SavedTensor(x), sy = SavedTensor(y)](const Grads& g) {
    const Tensor xv = sx.unpack("logsumexp"), yk = sy.unpack("logsumexp").reshape(keep);
    return Grads{mul(unsqueeze_grad(g[0], keep), exp(sub(xv, yk)))};
  });
  return y;
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  const Reduction r = plan_reduction("var", x, dims, keepdim);
  TRIFECTA_CHECK(is_floating(x.dtype()), "var", "needs a floating dtype, got ", dtype_name(x.dtype()));
  Tensor y = run_reduce(OpId::var, ReduceOp::Var, x, r, x.dtype(), correction);
  const int64_t count = r.keep_shape.numel() == 0 ? 0 : x.numel() / r.keep_shape.numel();
  // d var / dx_i = 2 (x_i - mean) / (n - correction).
  record(OpId::var, {x}, {y}, [keep = r.keep_shape, count, correction, sx = SavedTensor(x)](const Grads& g) {
    const Tensor xv = sx.unpack("var");
    std::vector<int64_t> reduced_dims;
    for (int i = 0; i < keep.size(); ++i)
      if (keep[i] == 1) reduced_dims.push_back(i);
    const Tensor centered = reduced_dims.empty() ? zeros_like(xv) : sub(xv, mean(xv, reduced_dims, true));
    return Grads{mul(centered, mul(unsqueeze_grad(g[0], keep), 2.0 / (static_cast<double>(count) - correction)))};
  });
  return y;
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return arg_extremum(OpId::argmax, ReduceOp::Argmax, x, dim, keepdim); }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return arg_extremum(OpId::argmin, ReduceOp::Argmin, x, dim, keepdim); }
Tensor argmax(const Tensor& x) { return argmax(x.reshape({x.numel()}), 0); }
Tensor argmin(const Tensor& x) { return argmin(x.reshape({x.numel()}), 0); }

int64_t count_nonfinite(const Tensor& x) {
  if (!is_floating(x.dtype()) || x.numel() == 0) return 0;
  const Reduction r = plan_reduction("count_nonfinite", x, {}, false);
  return run_reduce(OpId::count_nonfinite, ReduceOp::CountNonfinite, x, r, DType::Int64).item<int64_t>();
}

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int lead = g.ndim() - shape.size();
  TRIFECTA_CHECK(lead >= 0, "sum_to_shape", "cannot sum ", g.shape().str(), " down to ", shape.str());
  std::vector<int64_t> dims;
  for (int d = 0; d < g.ndim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
    } else if (shape[d - lead] == 1 && g.shape()[d] != 1) {
      dims.push_back(d);
    } else {
      TRIFECTA_CHECK(shape[d - lead] == g.shape()[d], "sum_to_shape", "cannot sum ", g.shape().str(), " down to ",
                     shape.str());
    }
  }
  return dims.empty() ? g.reshape(shape) : sum(g, dims, true).reshape(shape);
}

}  // namespace trifecta
