// Front ends of the reductions and their backward rules, all written with other ops: the gradient of a
// reduction is the incoming gradient broadcast back over the reduced dims, times the local derivative.
// Dtypes follow PyTorch: sums of integers and bools are int64, amax and amin keep the dtype (bools
// included), logsumexp of integers computes in float32, mean, var and std need a floating dtype, and the
// arg reductions take no bools.
#include "autograd/ops/reduce.h"

#include <algorithm>

#include "autograd/ops/elementwise.h"
#include "autograd/ops/factories.h"
#include "autograd/ops/index.h"
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

// max, min and the arg reductions have no value for an empty group (PyTorch refuses them too); an empty
// tensor whose reduced dims are not empty has no groups, and gives an empty result.
void check_nonempty_reduction(const char* op, const Tensor& x, const Reduction& r) {
  for (int d = 0; d < x.ndim(); ++d)
    TRIFECTA_CHECK(!r.reduced[d] || x.shape()[d] > 0, op, "cannot reduce over the empty dim ", d, " (input ",
                   x.shape().str(), ")");
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
  check_nonempty_reduction(op_name(op), x, r);
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

// The index of the extremum along dim (bools allowed: max and min over a dim take them).
Tensor arg_extremum_any_dtype(OpId op, ReduceOp kind, const Tensor& x, int64_t dim, bool keepdim) {
  const Reduction r = plan_reduction(op_name(op), x, {dim}, keepdim);
  check_nonempty_reduction(op_name(op), x, r);
  return run_reduce(op, kind, x, r, DType::Int64);
}

Tensor arg_extremum(OpId op, ReduceOp kind, const Tensor& x, int64_t dim, bool keepdim) {
  TRIFECTA_CHECK(!x.defined() || x.dtype() != DType::Bool, op_name(op), "is not defined for bool tensors (",
                 x.str(), "), as in PyTorch; convert with .to(DType::Int64) first");
  return arg_extremum_any_dtype(op, kind, x, dim, keepdim);
}

// max or min over one dim: the arg reduction's index, and the value gathered from there, so that the
// gradient (gather's) flows to that one element, as in PyTorch.
ValuesAndIndices extremum_along(OpId op, OpId arg_op, ReduceOp arg_kind, const Tensor& x, int64_t dim, bool keepdim) {
  const Reduction r = plan_reduction(op_name(op), x, {dim}, keepdim);
  check_nonempty_reduction(op_name(op), x, r);
  const Tensor index = run_reduce(arg_op, arg_kind, x, r, DType::Int64).reshape(r.keep_shape);
  Tensor values;
  if (x.ndim() == 0) {
    values = gather(x.reshape({1}), 0, index.reshape({1})).reshape({});
  } else {
    values = gather(x, wrap_dim(dim, x.ndim(), op_name(op)), index);
  }
  return {values.reshape(r.out_shape), index.reshape(r.out_shape)};
}

void check_floating(const char* op, const Tensor& x) {
  TRIFECTA_CHECK(is_floating(x.dtype()), op, "needs a floating dtype, got ", dtype_name(x.dtype()));
}

// The dims a keep_shape reduces (size 1 there while the input's is not).
std::vector<int64_t> reduced_dims_of(const Shape& keep, const Shape& in_shape) {
  std::vector<int64_t> dims;
  for (int i = 0; i < keep.size(); ++i)
    if (keep[i] == 1 && in_shape[i] != 1) dims.push_back(i);
  return dims;
}

// d var / dx_i = 2 (x_i - mean) / (n - correction), times the incoming gradient g_keep (keepdim form).
// x - mean is computed as (x - K) - mean(x - K), K being the first element of each reduced group: exact for
// values clustered around a large mean, where rounding the mean to x's dtype would cost ulp(mean) / spread
// of every deviation (the forward's reasoning, kernels/reduce/reduce_ops.h).
Tensor var_backward(const Tensor& g_keep, const Tensor& x, const Shape& keep, int64_t count, double correction) {
  const std::vector<int64_t> dims = reduced_dims_of(keep, x.shape());
  Tensor centered;
  if (dims.empty() || x.numel() == 0) {
    centered = zeros_like(x);  // one element per group (or none) is its own mean
  } else {
    Tensor first = x;
    for (int64_t d : dims) first = first.narrow(d, 0, 1);
    const Tensor shifted = sub(x, first);
    centered = sub(shifted, mean(shifted, dims, true));
  }
  return mul(centered, mul(g_keep, 2.0 / (static_cast<double>(count) - correction)));
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction("sum", x, dims, keepdim);
  Tensor y = run_reduce(OpId::sum, ReduceOp::Sum, x, r, is_floating(x.dtype()) ? x.dtype() : DType::Int64);
  record(OpId::sum, {x}, {y}, [keep = r.keep_shape, in_shape = x.shape()](const Grads& g) {
    return Grads{unsqueeze_grad(g[0], keep).expand(in_shape)};
  });
  return y;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  const Reduction r = plan_reduction("mean", x, dims, keepdim);
  check_floating("mean", x);
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
  if (!is_floating(x.dtype())) return logsumexp(x.to(DType::Float32), dims, keepdim);
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
  check_floating("var", x);
  Tensor y = run_reduce(OpId::var, ReduceOp::Var, x, r, x.dtype(), correction);
  const int64_t count = r.keep_shape.numel() == 0 ? 0 : x.numel() / r.keep_shape.numel();
  record(OpId::var, {x}, {y}, [keep = r.keep_shape, count, correction, sx = SavedTensor(x)](const Grads& g) {
    return Grads{var_backward(unsqueeze_grad(g[0], keep), sx.unpack("var"), keep, count, correction)};
  });
  return y;
}

Tensor std(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  const Reduction r = plan_reduction("std", x, dims, keepdim);
  check_floating("std", x);
  Tensor y;
  {
    NoGradGuard composite;  // std records itself below: var and sqrt leave no nodes of their own
    y = sqrt(run_reduce(OpId::var, ReduceOp::Var, x, r, x.dtype(), correction));
  }
  const int64_t count = r.keep_shape.numel() == 0 ? 0 : x.numel() / r.keep_shape.numel();
  // d std = d var / (2 std). Where std is 0 (no spread) that is 0 / 0: PyTorch takes the gradient to be 0,
  // a subgradient, as here; NaN stays NaN.
  record(OpId::std, {x}, {y},
         [keep = r.keep_shape, count, correction, sx = SavedTensor(x), sy = SavedTensor(y)](const Grads& g) {
    const Tensor yk = sy.unpack("std").reshape(keep), gk = unsqueeze_grad(g[0], keep);
    const Tensor g_var = where(eq(yk, 0.0), zeros_like(yk), div(gk, mul(yk, 2.0)));
    return Grads{var_backward(g_var, sx.unpack("std"), keep, count, correction)};
  });
  return y;
}

ValuesAndIndices max(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(OpId::max, OpId::argmax, ReduceOp::Argmax, x, dim, keepdim);
}
ValuesAndIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  return extremum_along(OpId::min, OpId::argmin, ReduceOp::Argmin, x, dim, keepdim);
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
