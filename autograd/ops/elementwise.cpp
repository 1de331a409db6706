// Front ends of the elementwise ops: check operands, broadcast, run the kernel, record the backward.
#include "autograd/ops/elementwise.h"

#include "autograd/ops/factories.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/copy/copy.h"
#include "kernels/elementwise/binary_ops.h"
#include "kernels/elementwise/unary_ops.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

// ---- Unary ----

Tensor unary_op(OpId op, UnaryOp kind, const Tensor& x, double a = 0.0, double b = 0.0) {
  TRIFECTA_CHECK(x.defined(), op_name(op), "undefined input");
  Tensor y = empty(x.shape(), x.options());
  kernel_for<UnaryKernel>(op, x.device())(kind, a, b, x, y);
  const UnarySaves saves = unary_saves(kind);
  record(op, {x}, {y},
         [op, kind, a, b, saved = SavedTensor(saves == UnarySaves::Input ? x : saves == UnarySaves::Output ? y : Tensor())](
             const Grads& g) {
           // The kernel reads only what the op's backward line names; the other slot gets any same-shape tensor.
           const Tensor kept = saved.unpack(op_name(op));
           const Tensor& slot = kept.defined() ? kept : g[0];
           Tensor grad = empty(g[0].shape(), g[0].options());
           kernel_for<UnaryBackwardKernel>(OpId::unary_backward, g[0].device())(kind, a, b, slot, slot, g[0], grad);
           return Grads{grad};
         });
  return y;
}

// ---- Binary ----

struct Broadcast {
  Shape shape;
  Tensor a, b;  // expanded views, no autograd
};

Broadcast broadcast_pair(const char* op, const Tensor& a, const Tensor& b) {
  TRIFECTA_CHECK(a.defined() && b.defined(), op, "undefined operand");
  TRIFECTA_CHECK(a.device() == b.device(), op, "operands on different devices: ", a.str(), " and ", b.str());
  TRIFECTA_CHECK(a.dtype() == b.dtype(), op, "operands of different dtypes: ", a.str(), " and ", b.str(),
                 " (convert one with .to(dtype))");
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  return {shape, broadcast_to(a, shape, op), broadcast_to(b, shape, op)};
}

// Backward through a kernel for ops whose gradients need a, b and y together.
Tensor binary_grad(BinaryOp kind, int which, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& g) {
  const Tensor ae = broadcast_to(a, g.shape(), "binary_backward"), be = broadcast_to(b, g.shape(), "binary_backward");
  Tensor grad = empty(g.shape(), g.options());
  kernel_for<BinaryBackwardKernel>(OpId::binary_backward, g.device())(kind, which, ae, be, y, g, grad);
  return grad;
}

Tensor binary_op(OpId op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_pair(op_name(op), a, b);
  Tensor y = empty(bc.shape, a.options());
  kernel_for<BinaryKernel>(op, a.device())(kind, bc.a, bc.b, y);
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  const Shape a_shape = a.shape(), b_shape = b.shape();
  // Each rule keeps only what its formula reads (and nothing when no gradient will be asked for).
  const bool keep_inputs = (need_a || need_b) && kind != BinaryOp::add && kind != BinaryOp::sub;
  const bool keep_output = (need_a || need_b) && kind != BinaryOp::add && kind != BinaryOp::sub && kind != BinaryOp::mul;
  record(op, {a, b}, {y},
         [op, kind, need_a, need_b, a_shape, b_shape, sa = SavedTensor(keep_inputs ? a : Tensor()),
          sb = SavedTensor(keep_inputs ? b : Tensor()), sy = SavedTensor(keep_output ? y : Tensor())](const Grads& grads) {
           const char* name = op_name(op);
           const Tensor& g = grads[0];
           const Tensor av = sa.unpack(name), bv = sb.unpack(name), yv = sy.unpack(name);
           Tensor ga, gb;
           switch (kind) {
             case BinaryOp::add:
               ga = g;
               gb = g;
               break;
             case BinaryOp::sub:
               ga = g;
               if (need_b) gb = neg(g);
               break;
             case BinaryOp::mul:
               if (need_a) ga = mul(g, bv);
               if (need_b) gb = mul(g, av);
               break;
             case BinaryOp::div:
               if (need_a) ga = div(g, bv);
               if (need_b) gb = neg(div(mul(g, yv), bv));
               break;
             default:
               if (need_a) ga = binary_grad(kind, 0, av, bv, yv, g);
               if (need_b) gb = binary_grad(kind, 1, av, bv, yv, g);
           }
           return Grads{need_a ? sum_to_shape(ga, a_shape) : Tensor(), need_b ? sum_to_shape(gb, b_shape) : Tensor()};
         });
  return y;
}

Tensor compare_op(OpId op, CompareOp kind, const Tensor& a, const Tensor& b) {
  const Broadcast bc = broadcast_pair(op_name(op), a, b);
  Tensor y = empty(bc.shape, {DType::Bool, a.device()});
  kernel_for<CompareKernel>(op, a.device())(kind, bc.a, bc.b, y);
  return y;
}

Tensor scalar_like(const Tensor& t, double value) {
  TRIFECTA_CHECK(t.defined(), "scalar op", "undefined tensor");
  return scalar_tensor(value, t.options());
}

void inplace_binary(const char* name, OpId op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  begin_inplace(a, name);
  TRIFECTA_CHECK(a.device() == b.device() && a.dtype() == b.dtype(), name, "operands differ: ", a.str(), " and ", b.str());
  // Each element is read and then written by the same thread, so the output may alias the first input. The
  // second may share a's storage only as exactly the same elements; any other overlap (add_(x[1:], x[:-1]),
  // sub_(m, m[0])) would be read after being written, so it is read out first.
  const bool same_elements = b.offset() == a.offset() && b.shape() == a.shape() && b.strides() == a.strides();
  Tensor source = b;
  if (b.storage() == a.storage() && !same_elements) {
    source = empty(b.shape(), b.options());
    copy_into(source, b);
  }
  kernel_for<BinaryKernel>(op, a.device())(kind, a, broadcast_to(source, a.shape(), name), a);
}

}  // namespace

Tensor broadcast_to(const Tensor& b, const Shape& shape, const char* op) {
  if (b.shape() == shape) return b.detach();
  const Shape target = broadcast_shapes(b.shape(), shape, op);
  TRIFECTA_CHECK(target == shape, op, "shape ", b.shape().str(), " does not broadcast to ", shape.str());
  Strides strides;
  const int lead = shape.size() - b.ndim();
  for (int d = 0; d < shape.size(); ++d) {
    const int s = d - lead;
    strides.push_back(s < 0 || b.shape()[s] == 1 ? 0 : b.strides()[s]);
  }
  return as_strided(b, shape, strides, b.offset());
}

#define TRIFECTA_UNARY_FRONT_END(name) \
  Tensor name(const Tensor& x) { return unary_op(OpId::name, UnaryOp::name, x); }
TRIFECTA_UNARY_FRONT_END(neg)
TRIFECTA_UNARY_FRONT_END(abs)
TRIFECTA_UNARY_FRONT_END(square)
TRIFECTA_UNARY_FRONT_END(exp)
TRIFECTA_UNARY_FRONT_END(expm1)
TRIFECTA_UNARY_FRONT_END(log)
TRIFECTA_UNARY_FRONT_END(log1p)
TRIFECTA_UNARY_FRONT_END(sqrt)
TRIFECTA_UNARY_FRONT_END(rsqrt)
TRIFECTA_UNARY_FRONT_END(reciprocal)
TRIFECTA_UNARY_FRONT_END(sin)
TRIFECTA_UNARY_FRONT_END(cos)
TRIFECTA_UNARY_FRONT_END(tanh)
TRIFECTA_UNARY_FRONT_END(sigmoid)
TRIFECTA_UNARY_FRONT_END(relu)
TRIFECTA_UNARY_FRONT_END(silu)
#undef TRIFECTA_UNARY_FRONT_END

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return unary_op(OpId::leaky_relu, UnaryOp::leaky_relu, x, negative_slope);
}
Tensor elu(const Tensor& x, double alpha) { return unary_op(OpId::elu, UnaryOp::elu, x, alpha); }
Tensor gelu(const Tensor& x, bool tanh_approximation) {
  return unary_op(OpId::gelu, UnaryOp::gelu, x, tanh_approximation ? 1.0 : 0.0);
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  TRIFECTA_CHECK(beta > 0, "softplus", "beta must be positive, got ", beta);
  return unary_op(OpId::softplus, UnaryOp::softplus, x, beta, threshold);
}
Tensor pow(const Tensor& x, double exponent) { return unary_op(OpId::pow_scalar, UnaryOp::pow_scalar, x, exponent); }
Tensor clamp(const Tensor& x, double min, double max) {
  TRIFECTA_CHECK(min <= max, "clamp", "min (", min, ") exceeds max (", max, ")");
  return unary_op(OpId::clamp, UnaryOp::clamp, x, min, max);
}

#define TRIFECTA_BINARY_FRONT_END(name)                                                                \
  Tensor name(const Tensor& a, const Tensor& b) { return binary_op(OpId::name, BinaryOp::name, a, b); }
TRIFECTA_BINARY_FRONT_END(add)
TRIFECTA_BINARY_FRONT_END(sub)
TRIFECTA_BINARY_FRONT_END(mul)
TRIFECTA_BINARY_FRONT_END(div)
TRIFECTA_BINARY_FRONT_END(pow)
TRIFECTA_BINARY_FRONT_END(maximum)
TRIFECTA_BINARY_FRONT_END(minimum)
#undef TRIFECTA_BINARY_FRONT_END

Tensor add(const Tensor& a, double b) { return add(a, scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(a, b)); }
Tensor maximum(const Tensor& a, double b) { return maximum(a, scalar_like(a, b)); }
Tensor minimum(const Tensor& a, double b) { return minimum(a, scalar_like(a, b)); }

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(b, a), b); }

#define TRIFECTA_COMPARE_FRONT_END(name)                                                                    \
  Tensor name(const Tensor& a, const Tensor& b) { return compare_op(OpId::name, CompareOp::name, a, b); }      \
  Tensor name(const Tensor& a, double b) { return compare_op(OpId::name, CompareOp::name, a, scalar_like(a, b)); }
TRIFECTA_COMPARE_FRONT_END(eq)
TRIFECTA_COMPARE_FRONT_END(ne)
TRIFECTA_COMPARE_FRONT_END(lt)
TRIFECTA_COMPARE_FRONT_END(le)
TRIFECTA_COMPARE_FRONT_END(gt)
TRIFECTA_COMPARE_FRONT_END(ge)
#undef TRIFECTA_COMPARE_FRONT_END

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  TRIFECTA_CHECK(cond.defined() && cond.dtype() == DType::Bool, "where", "condition must be a bool tensor, got ",
                 cond.defined() ? cond.str() : "undefined");
  TRIFECTA_CHECK(cond.device() == a.device(), "where", "condition on ", cond.device().str(), ", values on ",
                 a.device().str());
  const Broadcast bc = broadcast_pair("where", a, b);
  const Shape shape = broadcast_shapes(cond.shape(), bc.shape, "where");
  Tensor y = empty(shape, a.options());
  kernel_for<WhereKernel>(OpId::where, a.device())(broadcast_to(cond, shape, "where"), broadcast_to(a, shape, "where"),
                                                    broadcast_to(b, shape, "where"), y);
  record(OpId::where, {a, b}, {y},
         [need_a = a.requires_grad(), need_b = b.requires_grad(), a_shape = a.shape(), b_shape = b.shape(),
          sc = SavedTensor(cond)](const Grads& grads) {
           const Tensor c = sc.unpack("where"), &g = grads[0];
           const Tensor zero = scalar_tensor(0.0, g.options());
           return Grads{need_a ? sum_to_shape(where(c, g, zero), a_shape) : Tensor(),
                        need_b ? sum_to_shape(where(c, zero, g), b_shape) : Tensor()};
         });
  return y;
}

void add_(const Tensor& a, const Tensor& b) { inplace_binary("add_", OpId::add, BinaryOp::add, a, b); }
void sub_(const Tensor& a, const Tensor& b) { inplace_binary("sub_", OpId::sub, BinaryOp::sub, a, b); }
void mul_(const Tensor& a, const Tensor& b) { inplace_binary("mul_", OpId::mul, BinaryOp::mul, a, b); }
void mul_(const Tensor& a, double b) { mul_(a, scalar_like(a, b)); }

}  // namespace trifecta
