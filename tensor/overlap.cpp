// Memory overlap between views: the tests and the in-place check of tensor/overlap.h.
#include "tensor/overlap.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

namespace trifecta {

namespace {

// The lowest and highest storage offsets a tensor's elements occupy.
std::pair<int64_t, int64_t> element_span(const Tensor& t) {
  int64_t low = t.offset(), high = t.offset();
  for (int d = 0; d < t.ndim(); ++d) {
    const int64_t reach = (t.size(d) - 1) * t.stride(d);
    (reach >= 0 ? high : low) += reach;
  }
  return {low, high};
}

}  // namespace

// Sorted by |stride|, a layout names each slot once when every dim's stride exceeds the furthest reach of
// all smaller dims together: then the index along that dim alone decides which block of slots an element
// falls in. Dims of size 1 reach nowhere and are skipped, whatever their stride.
bool overlaps_itself(const Tensor& t) {
  if (t.numel() <= 1) return false;
  std::vector<std::pair<int64_t, int64_t>> dims;  // (|stride|, size) of dims with more than one element
  for (int d = 0; d < t.ndim(); ++d)
    if (t.size(d) > 1) dims.emplace_back(std::llabs(t.stride(d)), t.size(d));
  std::sort(dims.begin(), dims.end());
  int64_t reach = 0;
  for (const auto& [stride, size] : dims) {
    if (stride <= reach) return true;
    reach += (size - 1) * stride;
  }
  return false;
}

bool share_memory(const Tensor& a, const Tensor& b) {
  if (a.storage() != b.storage() || a.numel() == 0 || b.numel() == 0) return false;
  const auto [a_low, a_high] = element_span(a);
  const auto [b_low, b_high] = element_span(b);
  return a_low <= b_high && b_low <= a_high;
}

void check_writable_in_place(const Tensor& t, const std::string& op, const std::string& role) {
  TRIFECTA_CHECK(!overlaps_itself(t), op, "the ", role, " ", t.str(),
                 " has elements that share memory (an expanded view?), so it cannot be written in place; "
                 "write into a clone() instead");
}

}  // namespace trifecta
