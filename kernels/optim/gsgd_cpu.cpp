// CPU g-SGD layer update: rows of the weight in parallel, each element updated by gsgd_weight_update's
// formula (kernels/optim/gsgd_ops.h), the function the CUDA kernel applies too.
#include <type_traits>
#include <vector>

#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/optim/gsgd_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

// One row: the non-skeleton formula over every column in a loop the compiler can vectorize (the factor
// pointers are fixed per instantiation, and the skeleton test, an integer modulo per element, is left out),
// then the row's skeleton entries, saved beforehand, are written back with their own rule. Both go through
// gsgd_weight_update, so the result is that function's, element by element.
template <class T, bool Dense, bool HasColumnScale, bool HasColumnFactor>
void update_row(GsgdSkeleton layout, compute_t<T> neg_lr, T* w, const T* g, int64_t i, int64_t rows, int64_t columns,
                int64_t w_col, int64_t g_col, const T* rs, const T* cs, const T* cf, const T* sf) {
  using C = compute_t<T>;
  // The skeleton columns of row i: one for First (i mod columns) and Hidden (i), and i, i + rows, ... for
  // Last (the columns j with j mod rows = i).
  int64_t first = 0, step = columns;
  if (layout == GsgdSkeleton::First) first = i % columns;
  else if (layout == GsgdSkeleton::Hidden) first = i;
  else first = i, step = rows;
  C saved[1] = {C(0)};
  std::vector<C> saved_many;
  if (step >= columns) {
    if (first < columns) saved[0] = convert<C>(w[first * w_col]);
  } else {
    for (int64_t a = first; a < columns; a += step) saved_many.push_back(convert<C>(w[a * w_col]));
  }
  const C row_scale = rs ? convert<C>(rs[i]) : C(1);
  const auto element = [&](int64_t a, T& out, C weight, C grad) {
    C updated = weight + neg_lr * grad * row_scale * (HasColumnScale ? convert<C>(cs[a]) : C(1));
    if constexpr (HasColumnFactor) updated = updated * convert<C>(cf[a]);
    out = convert<T>(updated);
  };
  if constexpr (Dense) {
#pragma GCC ivdep
    for (int64_t a = 0; a < columns; ++a) element(a, w[a], convert<C>(w[a]), convert<C>(g[a]));
  } else {
    for (int64_t a = 0; a < columns; ++a) element(a, w[a * w_col], convert<C>(w[a * w_col]), convert<C>(g[a * g_col]));
  }
  size_t k = 0;
  for (int64_t a = first; a < columns; a += step) {
    const C original = step >= columns ? saved[0] : saved_many[k++];
    w[a * w_col] = convert<T>(gsgd_weight_update<C, T>(layout, neg_lr, original, C(0), i, a, rows, columns, rs, cs,
                                                       cf, sf));
  }
}

void gsgd_layer_step_cpu(const GsgdLayerStepArgs& args, const Tensor& weight, const Tensor& grad,
                         const Tensor& row_scale, const Tensor& column_scale, const Tensor& column_factor,
                         const Tensor& skeleton_factor) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  if (rows == 0 || columns == 0) return;
  dispatch_dtype<DTypeSet::Floating>(weight.dtype(), "gsgd_layer_step", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* w = static_cast<T*>(weight.raw_data());
    const T* g = static_cast<const T*>(grad.raw_data());
    const int64_t w_row = weight.stride(0), w_col = weight.stride(1);
    const int64_t g_row = grad.stride(0), g_col = grad.stride(1);
    const T* rs = data_or_null<T>(row_scale);
    const T* cs = data_or_null<T>(column_scale);
    const T* cf = data_or_null<T>(column_factor);
    const T* sf = data_or_null<T>(skeleton_factor);
    const auto neg_lr = static_cast<compute_t<T>>(-args.lr);
    const bool dense = w_col == 1 && g_col == 1;
    // The variant for this layer's operands, chosen once.
    auto row_update = &update_row<T, false, false, false>;
    const auto pick = [&]<bool D>(std::bool_constant<D>) {
      if (cs && cf) row_update = &update_row<T, D, true, true>;
      else if (cs) row_update = &update_row<T, D, true, false>;
      else if (cf) row_update = &update_row<T, D, false, true>;
      else row_update = &update_row<T, D, false, false>;
    };
    if (dense) pick(std::true_type{});
    else pick(std::false_type{});
    const int64_t grain_rows = kElementwiseGrain / columns + 1;
    parallel_for(0, rows, grain_rows, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        row_update(args.skeleton, neg_lr, w + i * w_row, g + i * g_row, i, rows, columns, w_col, g_col, rs, cs, cf, sf);
    });
  });
}

// Columns in parallel (each thread owns a range of columns, so every sum is added in row order); rows outer,
// so a dense row is read contiguously into the range's running sums.
void gsgd_outgoing_sums_cpu(const Tensor& weight, const Tensor& grad, const Tensor& out) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  if (columns == 0) return;
  dispatch_dtype<DTypeSet::Floating>(weight.dtype(), "gsgd_outgoing_sums", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using C = compute_t<T>;
    const T* w = static_cast<const T*>(weight.raw_data());
    const T* g = static_cast<const T*>(grad.raw_data());
    T* o = static_cast<T*>(out.raw_data());
    const int64_t w_row = weight.stride(0), w_col = weight.stride(1);
    const int64_t g_row = grad.stride(0), g_col = grad.stride(1);
    const int64_t grain_columns = kElementwiseGrain / (rows > 0 ? rows : 1) + 1;
    parallel_for(0, columns, grain_columns, [&](int64_t begin, int64_t end) {
      std::vector<C> sums(static_cast<size_t>(end - begin), C(0));
      for (int64_t i = 0; i < rows; ++i) {
        const T* w_i = w + i * w_row + begin * w_col;
        const T* g_i = g + i * g_row + begin * g_col;
        if (w_col == 1 && g_col == 1) {
#pragma GCC ivdep
          for (int64_t a = 0; a < end - begin; ++a) sums[a] = sums[a] + convert<C>(w_i[a]) * convert<C>(g_i[a]);
        } else {
          for (int64_t a = 0; a < end - begin; ++a)
            sums[a] = sums[a] + convert<C>(w_i[a * w_col]) * convert<C>(g_i[a * g_col]);
        }
      }
      for (int64_t a = begin; a < end; ++a) o[a] = convert<T>(sums[static_cast<size_t>(a - begin)]);
    });
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(gsgd_layer_step, CPU, &gsgd_layer_step_cpu);
TRIFECTA_REGISTER_KERNEL(gsgd_outgoing_sums, CPU, &gsgd_outgoing_sums_cpu);

}  // namespace trifecta
