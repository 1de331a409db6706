// Views and copies as Tensor methods. A view is stride arithmetic over the same storage (tensor/); its
// backward maps the gradient back through the inverse arithmetic: reshape back, permute back, pad a slice
// with zeros, sum an expansion.
#include <algorithm>
#include <numeric>
#include <optional>

#include "autograd/ops/factories.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/copy/copy.h"

namespace trifecta {

namespace {

// Resolves one -1 in a requested shape.
Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape shape = requested;
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      TRIFECTA_CHECK(infer < 0, op, "only one dimension can be -1 in ", requested.str());
      infer = d;
    } else {
      TRIFECTA_CHECK(shape[d] >= 0, op, "invalid dimension ", shape[d], " in ", requested.str());
      known *= shape[d];
    }
  }
  if (infer >= 0) {
    TRIFECTA_CHECK(known != 0 && numel % known == 0, op, "shape ", requested.str(), " is invalid for ", numel, " elements");
    shape[infer] = numel / known;
  }
  TRIFECTA_CHECK(shape.numel() == numel, op, "shape ", shape.str(), " is invalid for ", numel, " elements");
  return shape;
}

// Strides that let shape `to` view data laid out as (from, strides), if any. The old dims are walked in
// chunks that are contiguous among themselves; each chunk must be covered exactly by whole new dims.
std::optional<Strides> view_strides(const Shape& from, const Strides& strides, const Shape& to) {
  Strides result = to;
  if (from.numel() == 0 || from.size() == 0) return contiguous_strides(to);
  int view_d = to.size() - 1;
  int64_t chunk_stride = strides[from.size() - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int d = from.size() - 1; d >= 0; --d) {
    tensor_numel *= from[d];
    const bool chunk_ends = d == 0 || (from[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || to[view_d] == 1)) {
      result[view_d] = view_numel * chunk_stride;
      view_numel *= to[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = strides[d - 1];
      tensor_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return result;
}

Tensor make_view(OpId op, const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset,
                 FunctionNode::Backward backward) {
  Tensor out = as_strided(base, shape, strides, offset);
  record(op, {base}, {out}, std::move(backward));
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "view");
  const std::optional<Strides> strides = view_strides(this->shape(), this->strides(), shape);
  TRIFECTA_CHECK(strides.has_value(), "view", "shape ", shape.str(), " is incompatible with the strides ",
                 this->strides().str(), " of a ", str(), " tensor; use reshape (which copies)");
  return make_view(OpId::view, *this, shape, *strides, offset(),
                   [in_shape = this->shape()](const Grads& g) { return Grads{g[0].reshape(in_shape)}; });
}

Tensor Tensor::reshape(const Shape& requested) const {
  const Shape shape = infer_shape(requested, numel(), "reshape");
  if (view_strides(this->shape(), strides(), shape)) return view(shape);
  return contiguous().view(shape);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (ndim() == 0) return reshape({1});
  const int start = wrap_dim(start_dim, ndim(), "flatten"), end = wrap_dim(end_dim, ndim(), "flatten");
  TRIFECTA_CHECK(start <= end, "flatten", "start_dim ", start_dim, " is after end_dim ", end_dim);
  Shape shape;
  int64_t merged = 1;
  for (int d = 0; d < ndim(); ++d) {
    if (d < start || d > end) shape.push_back(this->shape()[d]);
    else {
      merged *= this->shape()[d];
      if (d == end) shape.push_back(merged);
    }
  }
  return reshape(shape);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  TRIFECTA_CHECK(static_cast<int>(dims.size()) == ndim(), "permute", "got ", dims.size(), " dims for a tensor of ",
                 ndim(), " dimensions");
  Shape shape, strides_out;
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int d = wrap_dim(dims[i], ndim(), "permute");
    TRIFECTA_CHECK(inverse[d] < 0, "permute", "dim ", dims[i], " repeated");
    inverse[d] = static_cast<int64_t>(i);
    shape.push_back(this->shape()[d]);
    strides_out.push_back(strides()[d]);
  }
  return make_view(OpId::permute, *this, shape, strides_out, offset(),
                   [inverse](const Grads& g) { return Grads{g[0].permute(inverse)}; });
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  std::vector<int64_t> dims(ndim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(dim0, ndim(), "transpose")], dims[wrap_dim(dim1, ndim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::t() const {
  TRIFECTA_CHECK(ndim() <= 2, "t", "expects a tensor of at most 2 dimensions, got ", str());
  return ndim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  const int d = wrap_dim(dim, ndim(), "slice");
  TRIFECTA_CHECK(step > 0, "slice", "step must be positive, got ", step);
  const int64_t size = shape()[d];
  // Python semantics: negative indices count from the end, out-of-range bounds clamp.
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  Shape new_shape = shape();
  Strides new_strides = strides();
  new_shape[d] = (end - start + step - 1) / step;
  new_strides[d] = strides()[d] * step;
  return make_view(OpId::slice, *this, new_shape, new_strides, offset() + start * strides()[d],
                   [in_shape = shape(), d, start, end, step](const Grads& g) {
                     Tensor grad = zeros(in_shape, g[0].options());
                     copy_into(grad.slice(d, start, end, step), g[0]);
                     return Grads{grad};
                   });
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  const int d = wrap_dim(dim, ndim(), "narrow");
  TRIFECTA_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow", "range [", start, ", ",
                 start + length, ") is outside dim ", dim, " of size ", shape()[d]);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  const int d = wrap_dim(dim, ndim(), "select");
  const int64_t size = shape()[d];
  TRIFECTA_CHECK(index >= -size && index < size, "select", "index ", index, " is out of range for dim ", dim,
                 " of size ", size);
  if (index < 0) index += size;
  return slice(d, index, index + 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& requested) const {
  TRIFECTA_CHECK(requested.size() >= ndim(), "expand", "cannot expand ", shape().str(), " to fewer dimensions ",
                 requested.str());
  const int lead = requested.size() - ndim();
  Shape shape_out;
  Strides strides_out;
  for (int d = 0; d < requested.size(); ++d) {
    const int s = d - lead;
    const int64_t have = s >= 0 ? shape()[s] : 1;
    const int64_t want = requested[d] == -1 ? have : requested[d];
    TRIFECTA_CHECK(s >= 0 || requested[d] != -1, "expand", "-1 is not allowed for a new leading dimension");
    TRIFECTA_CHECK(want >= 0, "expand", "invalid size ", want, " for dim ", d, " in ", requested.str());
    TRIFECTA_CHECK(have == want || have == 1, "expand", "cannot expand ", shape().str(), " to ", requested.str(),
                   " (dim ", d, ": ", have, " vs ", want, ")");
    shape_out.push_back(want);
    strides_out.push_back(s >= 0 && have == want ? strides()[s] : 0);
  }
  if (shape_out == shape()) return *this;
  return make_view(OpId::expand, *this, shape_out, strides_out, offset(),
                   [in_shape = shape()](const Grads& g) { return Grads{sum_to_shape(g[0], in_shape)}; });
}

Tensor Tensor::squeeze(int64_t dim) const {
  if (ndim() == 0) return *this;
  const int d = wrap_dim(dim, ndim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape s = shape();
  s.erase(d);
  return view(s);
}

Tensor Tensor::squeeze() const {
  Shape s;
  for (int64_t size : shape())
    if (size != 1) s.push_back(size);
  return s == shape() ? *this : view(s);
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  const int d = wrap_dim(dim, ndim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(d, 1);
  return view(s);
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), options());
  copy_into(out, *this);
  record(OpId::copy, {*this}, {out}, [](const Grads& g) { return Grads{g[0]}; });
  return out;
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), {target, device()});
  copy_into(out, *this);
  if (is_floating(target)) record(OpId::copy, {*this}, {out}, [source = dtype()](const Grads& g) { return Grads{g[0].to(source)}; });
  return out;
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), {dtype(), target});
  copy_into(out, *this);
  record(OpId::to_device, {*this}, {out}, [source = device()](const Grads& g) { return Grads{g[0].to(source)}; });
  return out;
}

}  // namespace trifecta
