// Front ends of the elementwise ops: check operands, broadcast, run the kernel, record the backward.
#include "autograd/ops/elementwise.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "autograd/grad_mode.h"
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

// ---- Type promotion ----

// t in dtype; the conversion is recorded, so a gradient returns to t in t's own dtype.
Tensor as_dtype(const Tensor& t, DType dtype) { return t.dtype() == dtype ? t : t.to(dtype); }

// What an op does with an integer number its integer result type cannot hold. PyTorch converts a Python int
// to the tensor's integer type by truncation, which for add, sub and mul gives the exact result modulo
// 2^bits, just as any overflowing integer result wraps (int32 + 2^40 + 5 is int32 + 5): Wrap. Where a
// wrapped number would change the answer rather than wrap it (a comparison, a maximum, a selected value),
// it is refused (PyTorch refuses most of these too, and silently wraps the rest).
enum class OutOfRange { Refuse, Wrap };

// An exact integer as a 0-dim tensor: a fill takes a double, which holds every integer only up to 2^53, so
// larger ones are copied from the host.
Tensor integer_tensor(int64_t value, DType dtype, Device device) {
  constexpr int64_t kExactInDouble = int64_t{1} << 53;
  if (value >= -kExactInDouble && value <= kExactInDouble)
    return scalar_tensor(static_cast<double>(value), {dtype, device});
  return from_vector(std::vector<int64_t>{value}, Shape{}, {dtype}).to(device);
}

// A number as a 0-dim tensor of dtype on device, for the kernels, which take tensors. An integer number is
// taken exactly; one beyond int64 is refused (no integer dtype here holds it; PyTorch cannot unpack it), and
// one beyond int32 in int32 arithmetic wraps or is refused as out_of_range says.
Tensor number_tensor(const char* op, const Scalar& number, DType dtype, Device device, OutOfRange out_of_range) {
  if (!is_integral(dtype)) return scalar_tensor(number.value(), {dtype, device});
  const std::optional<int64_t> integer = number.integer();  // integral result types come from integer numbers
  TRIFECTA_CHECK(integer.has_value(), op, "the number ", number.value(), " does not fit in int64");
  int64_t value = *integer;
  if (dtype == DType::Int32 && !fits_in(static_cast<double>(value), DType::Int32)) {
    TRIFECTA_CHECK(out_of_range == OutOfRange::Wrap, op, "the number ", value,
                   " does not fit in int32, the dtype the operation computes in");
    value = static_cast<int32_t>(static_cast<uint32_t>(value));  // modulo 2^32
  }
  return integer_tensor(value, dtype, device);
}

// The number as an operand beside t: a 0-dim tensor in their result type.
Tensor number_beside(const char* op, const Tensor& t, const Scalar& number,
                     OutOfRange out_of_range = OutOfRange::Refuse) {
  TRIFECTA_CHECK(t.defined(), op, "undefined tensor");
  return number_tensor(op, number, result_type(t, number), t.device(), out_of_range);
}

// PyTorch's math functions (exp, sin, sigmoid, ...) compute an integer or bool input in the default
// floating dtype, float32.
Tensor as_floating(const char* op, const Tensor& x) {
  TRIFECTA_CHECK(x.defined(), op, "undefined input");
  return is_floating(x.dtype()) ? x : x.to(DType::Float32);
}

// ---- Binary ----

struct Broadcast {
  Shape shape;
  Tensor a, b;            // converted to the result type (autograd sees these)
  Tensor a_view, b_view;  // and expanded to shape, for the kernel
};

// Checks two operands, converts them to their result type (true_division takes integers to float32) and
// expands them to the broadcast shape.
Broadcast broadcast_pair(const char* op, const Tensor& a, const Tensor& b, bool true_division = false) {
  TRIFECTA_CHECK(a.defined() && b.defined(), op, "undefined operand");
  TRIFECTA_CHECK(a.device() == b.device(), op, "operands on different devices: ", a.str(), " and ", b.str());
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  DType dtype = result_type(a, b);
  if (true_division && !is_floating(dtype)) dtype = DType::Float32;
  const Tensor ac = as_dtype(a, dtype), bc = as_dtype(b, dtype);
  return {shape, ac, bc, broadcast_to(ac, shape, op), broadcast_to(bc, shape, op)};
}

// Backward through a kernel for ops whose gradients need a, b and y together.
Tensor binary_grad(BinaryOp kind, int which, const Tensor& a, const Tensor& b, const Tensor& y, const Tensor& g) {
  const Tensor ae = broadcast_to(a, g.shape(), "binary_backward"), be = broadcast_to(b, g.shape(), "binary_backward");
  Tensor grad = empty(g.shape(), g.options());
  kernel_for<BinaryBackwardKernel>(OpId::binary_backward, g.device())(kind, which, ae, be, y, g, grad);
  return grad;
}

Tensor binary_op(OpId op, BinaryOp kind, const Tensor& a_in, const Tensor& b_in) {
  const Broadcast bc = broadcast_pair(op_name(op), a_in, b_in, kind == BinaryOp::div);
  const Tensor &a = bc.a, &b = bc.b;
  Tensor y = empty(bc.shape, a.options());
  kernel_for<BinaryKernel>(op, a.device())(kind, bc.a_view, bc.b_view, y);
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
  kernel_for<CompareKernel>(op, a.device())(kind, bc.a_view, bc.b_view, y);
  return y;
}

// cond ? a : b, with a and b of one dtype, recorded as op (where, masked_fill).
Tensor select_op(OpId op, const Tensor& cond, const Tensor& a, const Tensor& b) {
  const char* name = op_name(op);
  const Shape shape = broadcast_shapes(cond.shape(), broadcast_shapes(a.shape(), b.shape(), name), name);
  Tensor y = empty(shape, a.options());
  kernel_for<WhereKernel>(OpId::where, a.device())(broadcast_to(cond, shape, name), broadcast_to(a, shape, name),
                                                    broadcast_to(b, shape, name), y);
  record(op, {a, b}, {y},
         [op, need_a = a.requires_grad(), need_b = b.requires_grad(), a_shape = a.shape(), b_shape = b.shape(),
          sc = SavedTensor(cond)](const Grads& grads) {
           const Tensor c = sc.unpack(op_name(op)), &g = grads[0];
           const Tensor zero = scalar_tensor(0.0, g.options());
           return Grads{need_a ? sum_to_shape(where(c, g, zero), a_shape) : Tensor(),
                        need_b ? sum_to_shape(where(c, zero, g), b_shape) : Tensor()};
         });
  return y;
}

// A bool condition (what names it) on the values' device.
void check_condition(const char* op, const char* what, const Tensor& cond, const Tensor& values) {
  TRIFECTA_CHECK(cond.defined() && cond.dtype() == DType::Bool, op, what, " must be a bool tensor, got ",
                 cond.defined() ? cond.str() : "undefined");
  TRIFECTA_CHECK(values.defined(), op, "undefined input");
  TRIFECTA_CHECK(cond.device() == values.device(), op, what, " on ", cond.device().str(), ", values on ",
                 values.device().str());
}

// b as a kernel input beside a destination a whose storage it may share. Each element of a is read and
// then written by the same thread, so b may alias a only as exactly the same elements; any other overlap
// (add_(x[1:], x[:-1]), sub_(m, m[0])) would be read after being written, so it is read out first.
Tensor readable_beside(const Tensor& a, const Tensor& b) {
  const bool same_elements = b.offset() == a.offset() && b.shape() == a.shape() && b.strides() == a.strides();
  if (b.storage() != a.storage() || same_elements) return b;
  Tensor staged = empty(b.shape(), b.options());
  copy_into(staged, b);
  return staged;
}

// a = a op b. The result type of a and b must fit a's dtype (PyTorch's rule: float32.add_(int64) is fine,
// int64.add_(float32) is not); the op computes in that type and stores into a.
void inplace_binary(const char* name, OpId op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  TRIFECTA_CHECK(a.defined() && b.defined(), name, "undefined operand");
  TRIFECTA_CHECK(a.device() == b.device(), name, "operands on different devices: ", a.str(), " and ", b.str());
  const Tensor source = broadcast_to(b, a.shape(), name);
  const DType dtype = result_type(a, b);
  TRIFECTA_CHECK(can_cast(dtype, a.dtype()), name, "the result type ", dtype_name(dtype), " of ", a.str(), " and ",
                 b.str(), " cannot be stored in the destination's dtype ", dtype_name(a.dtype()));
  TRIFECTA_CHECK(dtype != DType::Bool, name, "arithmetic on bool tensors is not supported (", a.str(), ", ", b.str(),
                 ")");
  begin_inplace(a, name);
  NoGradGuard no_grad;  // in-place updates are not recorded
  if (dtype == a.dtype()) {
    kernel_for<BinaryKernel>(op, a.device())(kind, a, readable_beside(a, as_dtype(source, dtype)), a);
    return;
  }
  Tensor result = empty(a.shape(), {dtype, a.device()});
  kernel_for<BinaryKernel>(op, a.device())(kind, a.to(dtype), source.to(dtype), result);
  copy_into(a, result);
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

// The input in its own dtype: integers stay integers in ops whose kernels take them (neg, abs, relu), and
// are refused by those whose kernels take only floating dtypes (silu), as PyTorch's activations refuse them.
#define TRIFECTA_UNARY_FRONT_END(name) \
  Tensor name(const Tensor& x) { return unary_op(OpId::name, UnaryOp::name, x); }
TRIFECTA_UNARY_FRONT_END(neg)
TRIFECTA_UNARY_FRONT_END(abs)
TRIFECTA_UNARY_FRONT_END(relu)
TRIFECTA_UNARY_FRONT_END(silu)
#undef TRIFECTA_UNARY_FRONT_END

// PyTorch's math functions: an integer or bool input is computed in float32.
#define TRIFECTA_UNARY_FLOATING_FRONT_END(name) \
  Tensor name(const Tensor& x) { return unary_op(OpId::name, UnaryOp::name, as_floating(#name, x)); }
TRIFECTA_UNARY_FLOATING_FRONT_END(exp)
TRIFECTA_UNARY_FLOATING_FRONT_END(expm1)
TRIFECTA_UNARY_FLOATING_FRONT_END(log)
TRIFECTA_UNARY_FLOATING_FRONT_END(log1p)
TRIFECTA_UNARY_FLOATING_FRONT_END(sqrt)
TRIFECTA_UNARY_FLOATING_FRONT_END(rsqrt)
TRIFECTA_UNARY_FLOATING_FRONT_END(reciprocal)
TRIFECTA_UNARY_FLOATING_FRONT_END(sin)
TRIFECTA_UNARY_FLOATING_FRONT_END(cos)
TRIFECTA_UNARY_FLOATING_FRONT_END(tanh)
TRIFECTA_UNARY_FLOATING_FRONT_END(sigmoid)
#undef TRIFECTA_UNARY_FLOATING_FRONT_END

// square is PyTorch's pow(x, 2): a bool input meets the integer 2 in int64.
Tensor square(const Tensor& x) {
  TRIFECTA_CHECK(x.defined(), "square", "undefined input");
  return unary_op(OpId::square, UnaryOp::square, as_dtype(x, result_type(x, Scalar(2))));
}

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
Tensor pow(const Tensor& x, Scalar exponent) {
  TRIFECTA_CHECK(x.defined(), "pow", "undefined input");
  const DType dtype = result_type(x, exponent);
  if (!is_floating(dtype)) {
    TRIFECTA_CHECK(exponent.value() >= 0, "pow", "integers to negative integer powers are not allowed (", x.str(),
                   " to the power ", exponent.value(), "); convert to a floating dtype first");
    TRIFECTA_CHECK(fits_in(exponent.value(), dtype), "pow", "the exponent ", exponent.value(), " does not fit in ",
                   dtype_name(dtype));
  }
  return unary_op(OpId::pow_scalar, UnaryOp::pow_scalar, as_dtype(x, dtype), exponent.value());
}
// min(max(x, min), max), as PyTorch computes it: with min > max that is max everywhere, and no gradient.
Tensor clamp(const Tensor& x, Scalar min, Scalar max) {
  TRIFECTA_CHECK(x.defined(), "clamp", "undefined input");
  const DType dtype = result_type(x, min, max);
  for (const Scalar& bound : {min, max})
    TRIFECTA_CHECK(fits_in(bound.value(), dtype), "clamp", "the bound ", bound.value(), " does not fit in ",
                   dtype_name(dtype));
  return unary_op(OpId::clamp, UnaryOp::clamp, as_dtype(x, dtype), min.value(), max.value());
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

Tensor add(const Tensor& a, Scalar b) { return add(a, number_beside("add", a, b, OutOfRange::Wrap)); }
Tensor sub(const Tensor& a, Scalar b) { return sub(a, number_beside("sub", a, b, OutOfRange::Wrap)); }
Tensor mul(const Tensor& a, Scalar b) { return mul(a, number_beside("mul", a, b, OutOfRange::Wrap)); }
Tensor div(const Tensor& a, Scalar b) { return div(a, number_beside("div", a, b)); }
Tensor maximum(const Tensor& a, Scalar b) { return maximum(a, number_beside("maximum", a, b)); }
Tensor minimum(const Tensor& a, Scalar b) { return minimum(a, number_beside("minimum", a, b)); }

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, Scalar b) { return add(a, b); }
Tensor operator-(const Tensor& a, Scalar b) { return sub(a, b); }
Tensor operator*(const Tensor& a, Scalar b) { return mul(a, b); }
Tensor operator/(const Tensor& a, Scalar b) { return div(a, b); }
Tensor operator+(Scalar a, const Tensor& b) { return add(b, a); }
Tensor operator-(Scalar a, const Tensor& b) { return sub(number_beside("sub", b, a, OutOfRange::Wrap), b); }
Tensor operator*(Scalar a, const Tensor& b) { return mul(b, a); }
Tensor operator/(Scalar a, const Tensor& b) { return div(number_beside("div", b, a), b); }

#define TRIFECTA_COMPARE_FRONT_END(name)                                                                  \
  Tensor name(const Tensor& a, const Tensor& b) { return compare_op(OpId::name, CompareOp::name, a, b); } \
  Tensor name(const Tensor& a, Scalar b) {                                                                \
    return compare_op(OpId::name, CompareOp::name, a, number_beside(#name, a, b));                        \
  }
TRIFECTA_COMPARE_FRONT_END(eq)
TRIFECTA_COMPARE_FRONT_END(ne)
TRIFECTA_COMPARE_FRONT_END(lt)
TRIFECTA_COMPARE_FRONT_END(le)
TRIFECTA_COMPARE_FRONT_END(gt)
TRIFECTA_COMPARE_FRONT_END(ge)
#undef TRIFECTA_COMPARE_FRONT_END

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_condition("where", "condition", cond, a);
  const Broadcast bc = broadcast_pair("where", a, b);
  return select_op(OpId::where, cond, bc.a, bc.b);
}
Tensor where(const Tensor& cond, const Tensor& a, Scalar b) { return where(cond, a, number_beside("where", a, b)); }
Tensor where(const Tensor& cond, Scalar a, const Tensor& b) { return where(cond, number_beside("where", b, a), b); }

Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value) {
  check_condition("masked_fill", "the mask", mask, x);
  TRIFECTA_CHECK(fits_in(value.value(), x.dtype()), "masked_fill", "the value ", value.value(), " cannot be stored in ",
                 x.str());
  return select_op(OpId::masked_fill, mask, scalar_tensor(value.value(), x.options()), x);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  check_condition("masked_fill", "the mask", mask, x);
  TRIFECTA_CHECK(value.defined() && value.ndim() == 0, "masked_fill", "the value must be a 0-dim tensor, got ",
                 value.defined() ? value.str() : "undefined");
  return select_op(OpId::masked_fill, mask, as_dtype(value, x.dtype()).to(x.device()), x);
}

void add_(const Tensor& a, const Tensor& b) { inplace_binary("add_", OpId::add, BinaryOp::add, a, b); }
void sub_(const Tensor& a, const Tensor& b) { inplace_binary("sub_", OpId::sub, BinaryOp::sub, a, b); }
void mul_(const Tensor& a, const Tensor& b) { inplace_binary("mul_", OpId::mul, BinaryOp::mul, a, b); }
void mul_(const Tensor& a, Scalar b) { mul_(a, number_beside("mul_", a, b, OutOfRange::Wrap)); }

void masked_fill_(const Tensor& x, const Tensor& mask, Scalar value) {
  check_condition("masked_fill_", "the mask", mask, x);
  const Tensor mask_view = broadcast_to(mask, x.shape(), "masked_fill_");
  TRIFECTA_CHECK(fits_in(value.value(), x.dtype()), "masked_fill_", "the value ", value.value(),
                 " cannot be stored in ", x.str());
  const Tensor fill = broadcast_to(scalar_tensor(value.value(), x.options()), x.shape(), "masked_fill_");
  begin_inplace(x, "masked_fill_");
  kernel_for<WhereKernel>(OpId::where, x.device())(readable_beside(x, mask_view), fill, x, x);
}

}  // namespace trifecta
