// Memory overlap between views. Views are stride arithmetic over one storage, so two elements of one
// tensor (an expanded dim has stride 0) or of two tensors can name the same storage slot. A kernel writing
// such a destination in parallel would race (x.add_(y) on an expanded x adds several y elements into one
// slot, each thread reading the slot before another thread's write lands), so every in-place write, the
// elementwise ones and the optimizers' fused updates alike, refuses one here first.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace trifecta {

// Whether two elements of t may occupy one storage slot. Exact for every layout a view of a dense tensor
// produces (transposes, slices, selects: never; expanded dims of size > 1: always); an as_strided layout
// whose dims interleave without colliding is reported as overlapping too (the test is conservative).
bool overlaps_itself(const Tensor& t);

// Whether a and b may touch one storage slot: one storage, and the ranges of slots they span intersect.
bool share_memory(const Tensor& a, const Tensor& b);

// Throws, naming op, when t overlaps itself and so cannot be written in place; role names t in the
// message ("destination", "parameter").
void check_writable_in_place(const Tensor& t, const std::string& op, const std::string& role);

}  // namespace trifecta
