// CPU indexing kernels. Index values are checked in one pass before any data moves (an exception cannot
// leave an OpenMP region, and a half-done scatter is worse than none); the loops then trust them.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/index/index_ops.h"
#include "kernels/kernel_signatures.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

// Throws naming op when a value of index lies outside [0, bound). Broadcast dims (stride 0, as in
// index_select's expanded index) repeat stored values, so each stored value is visited once. The error
// reports the first bad value in row-major order, whatever the thread count.
void check_index_values(const char* op, const Tensor& index, int dim, int64_t bound) {
  if (index.numel() == 0) return;
  int ndim = 0;
  int64_t sizes[kMaxDims], strides[kMaxDims];
  for (int d = 0; d < index.ndim(); ++d) {
    if (index.stride(d) == 0 || index.size(d) == 1) continue;
    sizes[ndim] = index.size(d);
    strides[ndim] = index.stride(d);
    ++ndim;
  }
  int64_t count = 1;
  for (int d = 0; d < ndim; ++d) count *= sizes[d];
  const int64_t* base = static_cast<const int64_t*>(index.raw_data());
  const auto offset_of = [&](int64_t e) {
    int64_t offset = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      offset += (e % sizes[d]) * strides[d];
      e /= sizes[d];
    }
    return offset;
  };
  std::atomic<int64_t> first_bad{std::numeric_limits<int64_t>::max()};
  parallel_for(0, count, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) {
      const int64_t value = base[offset_of(e)];
      if (value >= 0 && value < bound) continue;
      int64_t seen = first_bad.load();
      while (e < seen && !first_bad.compare_exchange_weak(seen, e)) {
      }
      return;  // later elements of this chunk cannot come first
    }
  });
  const int64_t bad = first_bad.load();
  if (bad != std::numeric_limits<int64_t>::max())
    TRIFECTA_FAIL(op, "index ", base[offset_of(bad)], " is out of range for dimension ", dim, " of size ", bound);
}

template <class T>
void gather_typed(const IndexPlan& plan, const T* x, const int64_t* index, T* out) {
  // Walk runs along the last dim: one offset decode per run, then plain strided steps.
  const int last = plan.ndim - 1;
  const int64_t run_length = plan.sizes[last];
  const int64_t index_step = plan.index_strides[last], x_step = plan.indexed_strides[last],
                out_step = plan.dense_strides[last];
  parallel_for(0, plan.numel, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end;) {
      const int64_t run = std::min(run_length - e % run_length, end - e);
      const IndexPlan::Offsets o = plan.offsets_of(e);
      for (int64_t j = 0; j < run; ++j) {
        const int64_t target = index[o.index + j * index_step];
        out[o.dense + j * out_step] = x[o.indexed + j * x_step + target * plan.indexed_dim_stride];
      }
      e += run;
    }
  });
}

void gather_cpu(const char* op, const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  check_index_values(op, index, dim, x.size(dim));
  if (out.numel() == 0) return;
  const IndexPlan plan = make_index_plan(x, dim, index, out);
  dispatch_dtype<DTypeSet::All>(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gather_typed<T>(plan, static_cast<const T*>(x.raw_data()), static_cast<const int64_t*>(index.raw_data()),
                    static_cast<T*>(out.raw_data()));
  });
}

// One task per line along dim; the line's elements are added in order, so the result is deterministic,
// and different lines never write the same output (they differ in a coordinate other than dim).
template <class T>
void scatter_add_typed(const IndexPlan& plan, T* out, const int64_t* index, const T* src) {
  const int64_t length = plan.sizes[plan.dim];
  const int64_t lines = plan.numel / length;
  const int64_t index_step = plan.index_strides[plan.dim], src_step = plan.dense_strides[plan.dim];
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / length);
  parallel_for(0, lines, grain, [&](int64_t begin, int64_t end) {
    for (int64_t line = begin; line < end; ++line) {
      const IndexPlan::Offsets o = plan.offsets_of(line, /*skip_dim=*/true);
      for (int64_t j = 0; j < length; ++j) {
        T& target = out[o.indexed + index[o.index + j * index_step] * plan.indexed_dim_stride];
        target = convert<T>(convert<compute_t<T>>(target) + convert<compute_t<T>>(src[o.dense + j * src_step]));
      }
    }
  });
}

void scatter_add_cpu(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  check_index_values(op, index, dim, out.size(dim));
  if (index.numel() == 0) return;
  const IndexPlan plan = make_index_plan(out, dim, index, src);
  dispatch_dtype<DTypeSet::Numeric>(out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    scatter_add_typed<T>(plan, static_cast<T*>(out.raw_data()), static_cast<const int64_t*>(index.raw_data()),
                         static_cast<const T*>(src.raw_data()));
  });
}

// Each destination row (o, r) gets x + the source rows aimed at it, summed in ascending position order:
// a counting sort buckets positions by destination (stably), then rows are independent tasks. The CUDA
// kernel sums in the same order, so both devices round identically.
template <class T>
void index_add_typed(const IndexAddShape& s, T* out, const int64_t* index, int64_t index_stride, const T* source) {
  using C = compute_t<T>;
  std::vector<int64_t> row_start(s.rows + 1, 0), positions(s.n);
  for (int64_t i = 0; i < s.n; ++i) ++row_start[index[i * index_stride] + 1];
  for (int64_t r = 0; r < s.rows; ++r) row_start[r + 1] += row_start[r];
  std::vector<int64_t> cursor(row_start.begin(), row_start.end() - 1);
  for (int64_t i = 0; i < s.n; ++i) positions[cursor[index[i * index_stride]]++] = i;

  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(1, s.inner * (s.n / s.rows + 1)));
  parallel_for(0, s.outer * s.rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<C> sum(s.inner);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t o = task / s.rows, r = task % s.rows;
      if (row_start[r] == row_start[r + 1]) continue;
      T* row = out + task * s.inner;
      for (int64_t c = 0; c < s.inner; ++c) sum[c] = convert<C>(row[c]);
      for (int64_t j = row_start[r]; j < row_start[r + 1]; ++j) {
        const T* from = source + (o * s.n + positions[j]) * s.inner;
        for (int64_t c = 0; c < s.inner; ++c) sum[c] += convert<C>(from[c]);
      }
      for (int64_t c = 0; c < s.inner; ++c) row[c] = convert<T>(sum[c]);
    }
  });
}

void index_add_cpu(const char* op, const Tensor& out, int dim, const Tensor& index, const Tensor& source) {
  check_index_values(op, index, dim, out.size(dim));
  const IndexAddShape s = index_add_shape(out, dim, index);
  if (s.n == 0 || out.numel() == 0) return;
  dispatch_dtype<DTypeSet::Numeric>(out.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    index_add_typed<T>(s, static_cast<T*>(out.raw_data()), static_cast<const int64_t*>(index.raw_data()),
                       index.stride(0), static_cast<const T*>(source.raw_data()));
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(index_select, CPU, &gather_cpu);
TRIFECTA_REGISTER_KERNEL(gather, CPU, &gather_cpu);
TRIFECTA_REGISTER_KERNEL(scatter_add, CPU, &scatter_add_cpu);
TRIFECTA_REGISTER_KERNEL(index_add, CPU, &index_add_cpu);

}  // namespace trifecta
