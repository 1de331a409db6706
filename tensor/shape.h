// Shape and strides: small fixed-capacity vectors of int64 (rank <= 8), trivially copyable so they can be
// passed by value into CUDA kernels. Strides count elements, not bytes; a stride of 0 is a broadcast.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/error.h"

namespace trifecta {

constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  template <class It>
  void assign(It first, It last) {
    ndim_ = 0;
    for (; first != last; ++first) push_back(*first);
  }
  void push_back(int64_t d) {
    TRIFECTA_CHECK(ndim_ < kMaxDims, "shape", "more than ", kMaxDims, " dimensions are not supported");
    dims_[ndim_++] = d;
  }
  void insert(int pos, int64_t d);
  void erase(int pos);

  int size() const { return ndim_; }
  bool empty() const { return ndim_ == 0; }
  int64_t& operator[](int i) { return dims_[i]; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t back() const { return dims_[ndim_ - 1]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + ndim_; }
  int64_t* begin() { return dims_; }
  int64_t* end() { return dims_ + ndim_; }
  const int64_t* data() const { return dims_; }
  // The element count. Checked, since shapes also come from files: one whose count, or whose contiguous
  // strides (zero dims count as 1 there), would overflow int64 is an Error naming `what`.
  int64_t numel(std::string_view what = "shape") const;
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  std::string str() const;  // "[2, 3]"

  bool operator==(const Shape& other) const;
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  int64_t dims_[kMaxDims] = {};
  int ndim_ = 0;
};

using Strides = Shape;

// Row-major (C-contiguous) strides for a shape.
Strides contiguous_strides(const Shape& shape);
// The shape two operands broadcast to (NumPy rules); throws naming op when they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Wraps a possibly negative dim into [0, ndim); throws naming op when out of range.
int wrap_dim(int64_t dim, int ndim, const char* op);

}  // namespace trifecta
