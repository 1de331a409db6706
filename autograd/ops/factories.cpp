// Factories and in-place fills, routed to the fill kernels.
#include "autograd/ops/factories.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "kernels/copy/copy.h"
#include "kernels/fill/fill.h"
#include "kernels/registry.h"
#include "tensor/overlap.h"
#include "tensor/promotion.h"

namespace trifecta {

void begin_inplace(const Tensor& t, const char* op) { begin_inplace({{t, "destination"}}, op); }

void begin_inplace(std::initializer_list<InPlaceWrite> writes, const char* op) {
  for (auto w = writes.begin(); w != writes.end(); ++w) {
    TRIFECTA_CHECK(w->tensor.defined(), op, "undefined ", w->role);
    TRIFECTA_CHECK(!(grad_enabled() && w->tensor.requires_grad()), op,
                   "in-place write to a tensor that requires grad (the ", w->role, " ", w->tensor.str(),
                   ") while grad mode is on; do it inside a NoGradGuard");
    check_writable_in_place(w->tensor, op, w->role);
    for (auto earlier = writes.begin(); earlier != w; ++earlier)
      TRIFECTA_CHECK(!share_memory(earlier->tensor, w->tensor), op, "the ", earlier->role, " and the ", w->role,
                     " share memory, but both are written in place");
  }
  for (const InPlaceWrite& w : writes) w.tensor.storage()->bump_version();
}

namespace {

// Converting a number outside an integer dtype's range is undefined in C++ (PyTorch refuses it as well).
void check_fill_value(const Tensor& t, double value, const char* op) {
  TRIFECTA_CHECK(fits_in(value, t.dtype()), op, "the value ", value, " cannot be stored in ", t.str(),
                 " (it is not finite or out of the dtype's range)");
}

void fill_named(const Tensor& t, double value, const char* op) {
  TRIFECTA_CHECK(t.defined(), op, "undefined tensor");
  check_fill_value(t, value, op);
  begin_inplace(t, op);
  kernel_for<FillKernel>(OpId::fill, t.device())(t, value);
}

}  // namespace

void fill_(const Tensor& t, double value) { fill_named(t, value, "fill_"); }

void zero_(const Tensor& t) { fill_named(t, 0.0, "zero_"); }

void copy_(const Tensor& dst, const Tensor& src) {
  TRIFECTA_CHECK(dst.defined() && src.defined(), "copy_", "undefined ", dst.defined() ? "source" : "destination");
  TRIFECTA_CHECK(broadcast_shapes(src.shape(), dst.shape(), "copy_") == dst.shape(), "copy_", "source of shape ",
                 src.shape().str(), " does not broadcast to destination shape ", dst.shape().str());
  begin_inplace(dst, "copy_");
  if (src.storage() == dst.storage()) {
    if (src.offset() == dst.offset() && src.shape() == dst.shape() && src.strides() == dst.strides()) return;
    // The kernels write elements in any order (and in parallel), so a source that shares the destination's
    // storage could be overwritten before it is read (x.copy_(x.t())): read it out first.
    Tensor staged = empty(src.shape(), src.options());
    copy_into(staged, src);
    copy_into(dst, staged);
    return;
  }
  copy_into(dst, src);
}

Tensor zeros(const Shape& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Shape& shape, TensorOptions options) { return full(shape, 1.0, options); }

Tensor full(const Shape& shape, double value, TensorOptions options) {
  Tensor t = empty(shape, options);
  check_fill_value(t, value, "full");
  kernel_for<FillKernel>(OpId::fill, t.device())(t, value);
  return t;
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.options()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.options()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.options()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.options()); }
Tensor scalar_tensor(double value, TensorOptions options) { return full(Shape{}, value, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  TRIFECTA_CHECK(step != 0.0, "arange", "step must be nonzero");
  TRIFECTA_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange", "bounds must be finite");
  const double count = std::ceil((end - start) / step);
  Tensor t = empty({count > 0 ? static_cast<int64_t>(count) : 0}, options);
  kernel_for<ArangeKernel>(OpId::arange, t.device())(t, start, step);
  return t;
}

Tensor arange(int64_t end, TensorOptions options) { return arange(0.0, static_cast<double>(end), 1.0, options); }

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  TRIFECTA_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector", values.size(),
                 " values do not fill shape ", shape.str());
  Tensor host = empty(shape, {dtype_of<T>(), kCPU});
  T* p = host.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  if (options.dtype == host.dtype() && options.device == kCPU) return host;
  Tensor out = empty(shape, options);
  copy_into(out, host);
  return out;
}

template Tensor from_vector(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<bool>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<bfloat16>&, const Shape&, TensorOptions);
template Tensor from_vector(const std::vector<float16>&, const Shape&, TensorOptions);

namespace {

Generator& pick(Generator* generator) { return generator ? *generator : default_generator(); }

// Random kernels write dense tensors; a strided target is filled through a dense temporary so that element
// i always gets counter offset + i in logical order.
template <class Fill>
void fill_dense(const Tensor& t, const Fill& fill) {
  if (t.is_contiguous()) {
    fill(t);
    return;
  }
  Tensor dense = empty(t.shape(), t.options());
  fill(dense);
  copy_into(t, dense);
}

// The checks of a draw, made before anything is written (or a version bumped).
void check_uniform(const Tensor& t, double low, double high, const char* op) {
  TRIFECTA_CHECK(low <= high, op, "low (", low, ") must not exceed high (", high, ")");
  if (!is_floating(t.dtype())) fail_dtype(t.dtype(), DTypeSet::Floating, op);
}
void check_normal(const Tensor& t, double std, const char* op) {
  TRIFECTA_CHECK(std >= 0, op, "std must be non-negative, got ", std);
  if (!is_floating(t.dtype())) fail_dtype(t.dtype(), DTypeSet::Floating, op);
}

void draw_uniform(const Tensor& t, double low, double high, Generator* generator) {
  const GeneratorState s = pick(generator).reserve(static_cast<uint64_t>(t.numel()));
  fill_dense(t, [&](const Tensor& dense) {
    kernel_for<UniformKernel>(OpId::uniform, t.device())(dense, s.seed, s.offset, low, high);
  });
}

void draw_normal(const Tensor& t, double mean, double std, Generator* generator) {
  const GeneratorState s = pick(generator).reserve(static_cast<uint64_t>(t.numel()));
  fill_dense(t, [&](const Tensor& dense) {
    kernel_for<NormalKernel>(OpId::normal, t.device())(dense, s.seed, s.offset, mean, std);
  });
}

}  // namespace

Tensor rand(const Shape& shape, TensorOptions options, Generator* generator) {
  return uniform(shape, 0.0, 1.0, options, generator);
}

Tensor uniform(const Shape& shape, double low, double high, TensorOptions options, Generator* generator) {
  Tensor t = empty(shape, options);
  check_uniform(t, low, high, "uniform");
  draw_uniform(t, low, high, generator);
  return t;
}

Tensor randn(const Shape& shape, TensorOptions options, Generator* generator) {
  return normal(shape, 0.0, 1.0, options, generator);
}

Tensor normal(const Shape& shape, double mean, double std, TensorOptions options, Generator* generator) {
  Tensor t = empty(shape, options);
  check_normal(t, std, "normal");
  draw_normal(t, mean, std, generator);
  return t;
}

Tensor randn_like(const Tensor& t, Generator* generator) { return randn(t.shape(), t.options(), generator); }

Tensor bernoulli(const Shape& shape, double p, TensorOptions options, Generator* generator) {
  TRIFECTA_CHECK(p >= 0 && p <= 1, "bernoulli", "p must be in [0, 1], got ", p);
  const DType prob_dtype = is_floating(options.dtype) ? options.dtype : DType::Float32;
  return bernoulli(full(shape, p, {prob_dtype, options.device}), generator).to(options.dtype);
}

Tensor bernoulli(const Tensor& probs, Generator* generator) {
  TRIFECTA_CHECK(is_floating(probs.dtype()), "bernoulli", "probabilities must be floating, got ", dtype_name(probs.dtype()));
  const Tensor dense_probs = probs.detach().contiguous();
  Tensor out = empty(probs.shape(), probs.options());
  const GeneratorState s = pick(generator).reserve(static_cast<uint64_t>(out.numel()));
  kernel_for<BernoulliKernel>(OpId::bernoulli, out.device())(out, dense_probs, s.seed, s.offset);
  return out;
}

void uniform_(const Tensor& t, double low, double high, Generator* generator) {
  TRIFECTA_CHECK(t.defined(), "uniform_", "undefined tensor");
  check_uniform(t, low, high, "uniform_");
  begin_inplace(t, "uniform_");
  draw_uniform(t, low, high, generator);
}

void normal_(const Tensor& t, double mean, double std, Generator* generator) {
  TRIFECTA_CHECK(t.defined(), "normal_", "undefined tensor");
  check_normal(t, std, "normal_");
  begin_inplace(t, "normal_");
  draw_normal(t, mean, std, generator);
}

}  // namespace trifecta
