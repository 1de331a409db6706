// Elementwise ops: unary math and activations, binary arithmetic with broadcasting, comparisons, where and
// masked_fill, and the few in-place updates optimizers and gradient accumulation need. Operands of different
// dtypes, and numbers (Scalar), meet in their result type as in PyTorch (tensor/promotion.h).
#pragma once

#include "tensor/promotion.h"
#include "tensor/tensor.h"

namespace trifecta {

// ---- Unary ----
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
// x^exponent. An integer tensor to an integer power stays integer (and may not take a negative power).
Tensor pow(const Tensor& x, Scalar exponent);
// min(max(x, min), max); NaN in x or in a bound gives NaN.
Tensor clamp(const Tensor& x, Scalar min, Scalar max);

// ---- Binary (NumPy broadcasting; operands on one device, promoted to their result type) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// div is true division: integer operands divide in float32.
// With a number: the number joins in by its kind (an integer tensor times 0.5 is float32, times 2 stays integer).
Tensor add(const Tensor& a, Scalar b);
Tensor sub(const Tensor& a, Scalar b);
Tensor mul(const Tensor& a, Scalar b);
Tensor div(const Tensor& a, Scalar b);
Tensor maximum(const Tensor& a, Scalar b);
Tensor minimum(const Tensor& a, Scalar b);

Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(Scalar a, const Tensor& b);

// ---- Comparisons (bool results, no gradient; made in the operands' result type) and selection ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, Scalar b);
Tensor ne(const Tensor& a, Scalar b);
Tensor lt(const Tensor& a, Scalar b);
Tensor le(const Tensor& a, Scalar b);
Tensor gt(const Tensor& a, Scalar b);
Tensor ge(const Tensor& a, Scalar b);
// cond ? a : b elementwise; cond is bool; all three broadcast.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, Scalar b);
Tensor where(const Tensor& cond, Scalar a, const Tensor& b);
// value where mask is true, x elsewhere; the bool mask and x broadcast together. The value takes x's dtype
// (masked_fill(int_tensor, mask, 2.5) writes 2), as in PyTorch; a tensor value must be 0-dim, and receives
// the gradient of every filled element.
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);

// ---- In-place (throw on a tensor that requires grad while grad mode is on, on a destination whose
// elements share memory, and on a result type the destination cannot hold: int_tensor.mul_(0.5)) ----
void add_(const Tensor& a, const Tensor& b);  // a += b (b broadcasts to a)
void sub_(const Tensor& a, const Tensor& b);
void mul_(const Tensor& a, const Tensor& b);
void mul_(const Tensor& a, Scalar b);
void masked_fill_(const Tensor& x, const Tensor& mask, Scalar value);  // mask broadcasts to x

// ---- Helpers for backward rules ----
// b viewed with shape (NumPy broadcasting), without autograd; throws naming op if it does not broadcast.
Tensor broadcast_to(const Tensor& b, const Shape& shape, const char* op);

}  // namespace trifecta
