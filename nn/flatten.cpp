// Unflatten: resolving the split of one dim into several.
#include "nn/flatten.h"

#include <algorithm>

namespace trifecta::nn {

Unflatten::Unflatten(int64_t d, std::vector<int64_t> s) : UnaryModule("Unflatten"), dim(d), sizes(std::move(s)) {
  TRIFECTA_CHECK(!sizes.empty(), "Unflatten", "sizes must not be empty");
  TRIFECTA_CHECK(std::count(sizes.begin(), sizes.end(), -1) <= 1, "Unflatten", "at most one size may be -1");
  for (int64_t size : sizes)
    TRIFECTA_CHECK(size >= 0 || size == -1, "Unflatten", "sizes must be non-negative or -1, got ", size);
}

Tensor Unflatten::forward(const Tensor& x) {
  TRIFECTA_CHECK(x.defined(), "Unflatten", "undefined input");
  const int64_t rank = x.ndim();
  TRIFECTA_CHECK(dim >= -rank && dim < rank, "Unflatten", "dim ", dim, " is out of range for ", x.str());
  const int64_t d = dim < 0 ? dim + rank : dim;
  int64_t known = 1;
  for (int64_t size : sizes)
    if (size != -1) known *= size;
  const bool infer = std::count(sizes.begin(), sizes.end(), -1) == 1;
  const bool fits = infer ? known > 0 && x.size(d) % known == 0 : known == x.size(d);
  TRIFECTA_CHECK(fits, "Unflatten", "cannot split dim ", d, " of ", x.str(), " into sizes ", Shape(sizes).str());
  std::vector<int64_t> shape = x.shape().vec();
  shape.erase(shape.begin() + d);
  for (size_t i = 0; i < sizes.size(); ++i)
    shape.insert(shape.begin() + d + static_cast<int64_t>(i), sizes[i] == -1 ? x.size(d) / known : sizes[i]);
  return x.reshape(Shape(shape));
}

}  // namespace trifecta::nn
