// Making tensors: constants, ranges, host data, and random draws from Philox (the same numbers on CPU
// and CUDA for the same generator state).
#pragma once

#include <initializer_list>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace trifecta {

Tensor zeros(const Shape& shape, TensorOptions options = {});
Tensor ones(const Shape& shape, TensorOptions options = {});
Tensor full(const Shape& shape, double value, TensorOptions options = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
// [start, end) in steps of step; the element count is ceil((end - start) / step).
Tensor arange(double start, double end, double step = 1.0, TensorOptions options = {});
Tensor arange(int64_t end, TensorOptions options = {DType::Int64});
// A 0-dim tensor holding value.
Tensor scalar_tensor(double value, TensorOptions options = {});

// A tensor holding host data (row-major, converted to options.dtype).
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options = {dtype_of<T>()});

// Uniform in [low, high), normal, and Bernoulli(p) draws. A null generator means the default generator.
Tensor rand(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor uniform(const Shape& shape, double low, double high, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(const Shape& shape, TensorOptions options = {}, Generator* generator = nullptr);
Tensor normal(const Shape& shape, double mean, double std, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn_like(const Tensor& t, Generator* generator = nullptr);
Tensor bernoulli(const Shape& shape, double p, TensorOptions options = {}, Generator* generator = nullptr);
// Elementwise: out[i] = 1 with probability probs[i]; out has probs' shape, dtype and device.
Tensor bernoulli(const Tensor& probs, Generator* generator = nullptr);

// In-place writes (not recorded by autograd: they throw on a tensor that requires grad while grad mode is on,
// and on one whose elements share memory, such as an expanded view). An integer tensor refuses a value it
// cannot hold (NaN, or out of its range).
void fill_(const Tensor& t, double value);
void zero_(const Tensor& t);
void copy_(const Tensor& dst, const Tensor& src);  // src broadcasts to dst; any dtypes and devices
void uniform_(const Tensor& t, double low, double high, Generator* generator = nullptr);
void normal_(const Tensor& t, double mean, double std, Generator* generator = nullptr);

// Marks an in-place write: checks it is allowed (grad mode, no memory shared between t's own elements; the
// error names op) and bumps the storage version. Call it after the op's other checks, so that a refused write
// leaves the version as it was.
void begin_inplace(const Tensor& t, const char* op);

// A tensor an op writes in place, with the name the op's messages give it ("running_var").
struct InPlaceWrite {
  const Tensor& tensor;
  const char* role;
};
// The same for an op that writes several tensors: every one is checked, and no two may share memory, before
// any version is bumped, so a refusal leaves all of them as they were.
void begin_inplace(std::initializer_list<InPlaceWrite> writes, const char* op);

}  // namespace trifecta
