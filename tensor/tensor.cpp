// Tensor metadata, raw views, and host read-back. Autograd-aware methods live in autograd/.
#include "tensor/tensor.h"

#include <sstream>

#include "kernels/copy/copy.h"
#include "tensor/backend.h"

namespace trifecta {

int64_t Tensor::size(int64_t dim) const { return shape()[wrap_dim(dim, ndim(), "Tensor::size")]; }
int64_t Tensor::stride(int64_t dim) const { return strides()[wrap_dim(dim, ndim(), "Tensor::stride")]; }

bool is_contiguous_layout(const Shape& shape, const Strides& strides) {
  int64_t expected = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    if (strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

bool Tensor::is_contiguous() const { return is_contiguous_layout(shape(), strides()); }

std::string Tensor::str() const {
  if (!defined()) return "undefined";
  std::ostringstream out;
  out << dtype_name(dtype()) << shape().str() << ' ' << device().str();
  return out.str();
}

void* Tensor::raw_data() const {
  return static_cast<char*>(storage()->data()) + offset() * static_cast<int64_t>(itemsize(dtype()));
}

namespace {

Tensor over_new_storage(Storage storage, const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace

size_t dense_nbytes(const Shape& shape, DType dtype, std::string_view what) {
  for (int64_t d : shape) TRIFECTA_CHECK(d >= 0, what, "negative dimension in shape ", shape.str());
  int64_t nbytes = 0;
  TRIFECTA_CHECK(!__builtin_mul_overflow(shape.numel(what), static_cast<int64_t>(itemsize(dtype)), &nbytes), what,
                 "shape ", shape.str(), " of ", dtype_name(dtype), " is too large: its size in bytes overflows int64");
  return static_cast<size_t>(nbytes);
}

Tensor empty(const Shape& shape, TensorOptions options) {
  const size_t nbytes = dense_nbytes(shape, options.dtype, "empty");
  return over_new_storage(make_storage(nbytes, options.device), shape, options.dtype);
}

Tensor empty_pinned(const Shape& shape, DType dtype) {
  const size_t nbytes = dense_nbytes(shape, dtype, "empty_pinned");
  if (!cuda_available()) return over_new_storage(make_storage(nbytes, kCPU), shape, dtype);
  return over_new_storage(std::make_shared<StorageImpl>(nbytes, kCPU, cuda_backend::pinned_host_allocator(), true),
                          shape, dtype);
}

Tensor as_strided(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
  TRIFECTA_CHECK(shape.size() == strides.size(), "as_strided", "shape ", shape.str(), " and strides ",
                 strides.str(), " differ in rank");
  // The furthest element the view can reach must lie inside the storage.
  int64_t lowest = offset, highest = offset;
  bool empty_view = false;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) empty_view = true;
    const int64_t reach = (shape[d] - 1) * strides[d];
    (reach >= 0 ? highest : lowest) += reach;
  }
  const int64_t capacity = static_cast<int64_t>(base.storage()->nbytes() / itemsize(base.dtype()));
  TRIFECTA_CHECK(empty_view || (lowest >= 0 && highest < capacity), "as_strided", "view ", shape.str(),
                 " with strides ", strides.str(), " at offset ", offset, " reaches outside a storage of ", capacity,
                 " elements");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

void set_data(const Tensor& target, const Tensor& data) {
  TRIFECTA_CHECK(target.defined() && data.defined(), "set_data", "undefined tensor");
  TensorImpl* impl = target.impl();
  impl->storage = data.storage();
  impl->shape = data.shape();
  impl->strides = data.strides();
  impl->offset = data.offset();
  impl->dtype = data.dtype();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor host = empty(shape(), {dtype_of<T>(), kCPU});
  copy_into(host, *this);
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}

template <>
std::vector<bool> Tensor::to_vector<bool>() const {
  Tensor host = empty(shape(), {DType::Bool, kCPU});
  copy_into(host, *this);
  const bool* p = host.data<bool>();
  return std::vector<bool>(p, p + host.numel());
}

template <class T>
T Tensor::item() const {
  TRIFECTA_CHECK(numel() == 1, "item", "needs a one-element tensor, got ", str());
  return to_vector<T>()[0];
}

#define TRIFECTA_INSTANTIATE_READBACK(T)         \
  template std::vector<T> Tensor::to_vector() const; \
  template T Tensor::item() const;
TRIFECTA_INSTANTIATE_READBACK(float)
TRIFECTA_INSTANTIATE_READBACK(double)
TRIFECTA_INSTANTIATE_READBACK(int32_t)
TRIFECTA_INSTANTIATE_READBACK(int64_t)
TRIFECTA_INSTANTIATE_READBACK(bfloat16)
TRIFECTA_INSTANTIATE_READBACK(float16)
template bool Tensor::item() const;
#undef TRIFECTA_INSTANTIATE_READBACK

}  // namespace trifecta
