// Tensor: a view (shape, strides, offset, dtype) over a reference-counted Storage, plus an optional autograd
// record. Copying a Tensor copies a handle, never the data. Every view (reshape, permute, narrow, expand,
// ...) is stride arithmetic over the same storage; contiguous() copies only when the strides demand it.
//
// The view and op methods declared here are defined in autograd/, because each one records how to send
// gradients back through it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/device.h"
#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace trifecta {

class Node;
struct AutogradMeta;

struct TensorImpl {
  Storage storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;
  std::shared_ptr<AutogradMeta> autograd;  // null until the tensor takes part in autograd
};

// What to make a new tensor as. Converts implicitly from a DType or a Device, so factories read
// zeros({2, 3}), zeros({2, 3}, DType::Float64), zeros({2, 3}, kCUDA) or zeros({2, 3}, {DType::Float64, kCUDA}).
struct TensorOptions {
  DType dtype = DType::Float32;
  Device device = kCPU;
  TensorOptions() = default;
  TensorOptions(DType d) : dtype(d) {}
  TensorOptions(Device dev) : device(dev) {}
  TensorOptions(DType d, Device dev) : dtype(d), device(dev) {}
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }
  // No other handle or view shares this tensor's data (so it may be adopted instead of copied).
  bool exclusively_owned() const { return impl_.use_count() == 1 && impl_->storage.use_count() == 1; }

  // Metadata.
  const Shape& shape() const { return checked()->shape; }
  const Strides& strides() const { return checked()->strides; }
  int ndim() const { return checked()->shape.size(); }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t offset() const { return checked()->offset; }
  int64_t numel() const { return checked()->shape.numel(); }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage->device(); }
  TensorOptions options() const { return {dtype(), device()}; }
  const Storage& storage() const { return checked()->storage; }
  bool is_contiguous() const;
  std::string str() const;  // "float32[2, 3] cpu"

  // Raw element access. data<T>() checks that T matches the dtype.
  void* raw_data() const;
  template <class T> T* data() const {
    TRIFECTA_CHECK(dtype_of<T>() == dtype(), "Tensor::data", "requested ", dtype_name(dtype_of<T>()),
                   " but the tensor is ", dtype_name(dtype()));
    return static_cast<T*>(raw_data());
  }
  // Copies the elements to the host in logical (row-major) order, converted to T.
  template <class T> std::vector<T> to_vector() const;
  template <class T> T item() const;  // the single element of a one-element tensor

  // Conversion and copies (autograd-aware).
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor contiguous() const;
  Tensor clone() const;

  // Views (autograd-aware). A view shares this tensor's storage.
  Tensor view(const Shape& shape) const;     // requires compatible strides
  Tensor reshape(const Shape& shape) const;  // view when possible, else a copy; one dim may be -1
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // transpose of a matrix
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a dim
  Tensor squeeze(int64_t dim) const;
  Tensor squeeze() const;
  Tensor unsqueeze(int64_t dim) const;

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool enabled = true);
  bool is_leaf() const;
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the gradient (the next backward starts fresh)
  std::shared_ptr<Node> grad_fn() const;
  // Reverse-mode differentiation from this tensor: a scalar needs no gradient; otherwise pass dL/dthis.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no autograd history
  AutogradMeta* autograd_meta() const { return impl_ ? impl_->autograd.get() : nullptr; }
  AutogradMeta& ensure_autograd_meta() const;

 private:
  TensorImpl* checked() const {
    TRIFECTA_CHECK(impl_, "Tensor", "use of an undefined tensor");
    return impl_.get();
  }
  std::shared_ptr<TensorImpl> impl_;
};

// Makes target view data's storage, shape, strides and dtype in place, keeping target's autograd record
// (requires_grad, grad): every handle to target sees the change. How modules move parameters to a device.
void set_data(const Tensor& target, const Tensor& data);

// The bytes a dense tensor of this shape and dtype occupies. Checked, since shapes also come from files: a
// negative dimension, or a size beyond int64, is an Error naming `what`.
size_t dense_nbytes(const Shape& shape, DType dtype, std::string_view what);
// A new tensor over new, uninitialized storage.
Tensor empty(const Shape& shape, TensorOptions options = {});
// A new CPU tensor in page-locked (pinned) host memory when a CUDA device is present, so that
// cuda_backend::copy_to_device_async can copy from it while the host works on; in plain host memory
// otherwise. Page-locked memory is scarce (the OS cannot swap it): use it for staging buffers only.
Tensor empty_pinned(const Shape& shape, DType dtype = DType::Float32);
// A view over an existing tensor's storage, with no autograd record (autograd views are built on this).
Tensor as_strided(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);
// Whether a (shape, strides) pair describes a row-major contiguous layout (size-1 dims may have any stride).
bool is_contiguous_layout(const Shape& shape, const Strides& strides);

}  // namespace trifecta
