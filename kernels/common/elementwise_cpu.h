// The CPU elementwise loop: out[i] = f(in0[i], in1[i], ...) over any strides, in parallel. The function
// receives and returns compute types (float for 16-bit floats); the loop converts on load and store.
// The innermost loop is specialised for the common layouts (every operand contiguous, or one input a
// broadcast scalar) so the compiler can vectorize it; anything else takes the strided loop.
#pragma once

#include <algorithm>
#include <tuple>
#include <utility>

#include "kernels/common/elementwise_plan.h"
#include "kernels/common/parallel.h"
#include "tensor/half.h"

namespace trifecta {

namespace detail {

// Inner loop over n elements: a dense loop when every stride is 1, a loop with the scalar hoisted for
// "tensor op scalar" and "scalar op tensor", and the general strided loop otherwise. Flattened (every call inside inlined,
// recursively): a call left in the loop, such as gelu's to its formula when the inliner judges it too
// large, would keep the loop from vectorizing.
template <class Out, class... In, class F, size_t... K>
[[gnu::flatten]] inline void elementwise_row(Out* out, int64_t out_stride, const std::tuple<const In*...>& in,
                            const int64_t* in_strides, int64_t n, const F& f_in, std::index_sequence<K...>) {
  // A local copy of the functor: its parameters (gelu's `approximate`, a slope) then cannot alias out, so
  // the compiler keeps them in registers and can unswitch the loop on them, where reading them through
  // the reference would have to be redone after every store and would keep the loop from vectorizing.
  const F f = f_in;
  const bool contiguous = out_stride == 1 && ((in_strides[K] == 1) && ...);
  if (contiguous) {
    for (int64_t i = 0; i < n; ++i) out[i] = convert<Out>(f(convert<compute_t<In>>(std::get<K>(in)[i])...));
    return;
  }
  if constexpr (sizeof...(In) == 2) {  // tensor op scalar, scalar op tensor
    using A = std::tuple_element_t<0, std::tuple<In...>>;
    using B = std::tuple_element_t<1, std::tuple<In...>>;
    if (out_stride == 1 && in_strides[0] == 1 && in_strides[1] == 0) {
      const A* a = std::get<0>(in);
      const compute_t<B> b = convert<compute_t<B>>(*std::get<1>(in));
      for (int64_t i = 0; i < n; ++i) out[i] = convert<Out>(f(convert<compute_t<A>>(a[i]), b));
      return;
    }
    if (out_stride == 1 && in_strides[0] == 0 && in_strides[1] == 1) {
      const compute_t<A> a = convert<compute_t<A>>(*std::get<0>(in));
      const B* b = std::get<1>(in);
      for (int64_t i = 0; i < n; ++i) out[i] = convert<Out>(f(a, convert<compute_t<B>>(b[i])));
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    out[i * out_stride] = convert<Out>(f(convert<compute_t<In>>(std::get<K>(in)[i * in_strides[K]])...));
}

}  // namespace detail

// cpu_elementwise<Out, In...>(out, f, in...): every input must already have out's shape (expand first).
template <class Out, class... In, class F, class... Tensors>
void cpu_elementwise(const Tensor& out, const F& f, const Tensors&... inputs) {
  static_assert(sizeof...(In) == sizeof...(Tensors), "one input type per input tensor");
  constexpr int N = 1 + sizeof...(In);
  const ElementwisePlan<N> plan = make_elementwise_plan<N>({&out, &inputs...});
  if (plan.numel == 0) return;
  Out* const out_base = static_cast<Out*>(out.raw_data());
  const std::tuple<const In*...> in_base{static_cast<const In*>(inputs.raw_data())...};
  const int inner_dim = plan.ndim - 1;
  const int64_t inner = plan.ndim == 0 ? 1 : plan.sizes[inner_dim];

  parallel_for(0, plan.numel, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    int64_t index = begin;
    while (index < end) {
      // Offsets of the row holding `index`: decode the outer dims, then step to the column.
      int64_t row = index / inner, column = index % inner;
      int64_t offset[N] = {};
      for (int d = inner_dim - 1; d >= 0; --d) {
        const int64_t i = row % plan.sizes[d];
        row /= plan.sizes[d];
        for (int k = 0; k < N; ++k) offset[k] += i * plan.strides[k][d];
      }
      const int64_t count = std::min(inner - column, end - index);
      int64_t in_strides[N];  // N > number of inputs, so never zero-length
      for (int k = 1; k < N; ++k) {
        in_strides[k - 1] = plan.ndim == 0 ? 0 : plan.strides[k][inner_dim];
        offset[k] += column * in_strides[k - 1];
      }
      const int64_t out_stride = plan.ndim == 0 ? 0 : plan.strides[0][inner_dim];
      offset[0] += column * out_stride;
      const auto row_inputs = [&]<size_t... K>(std::index_sequence<K...>) {
        return std::tuple<const In*...>{std::get<K>(in_base) + offset[K + 1]...};
      }(std::index_sequence_for<In...>{});
      detail::elementwise_row<Out, In...>(out_base + offset[0], out_stride, row_inputs, in_strides, count, f,
                                          std::index_sequence_for<In...>{});
      index += count;
    }
  });
}

}  // namespace trifecta

namespace trifecta {

// The CPU loop as a type, so kernel bodies shared by both devices can be written once as templates over
// the loop (see kernels/elementwise/unary_impl.h).
struct CpuElementwise {
  static constexpr DeviceType kDevice = DeviceType::CPU;
  template <class Out, class... In, class F, class... Tensors>
  static void run(const char*, const Tensor& out, const F& f, const Tensors&... inputs) {
    cpu_elementwise<Out, In...>(out, f, inputs...);
  }
  // out[i] = g(i) over a contiguous out, i the logical element index (random fills, arange).
  template <class Out, class G>
  static void generate(const char*, const Tensor& out, const G& g) {
    Out* const p = static_cast<Out*>(out.raw_data());
    parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) p[i] = convert<Out>(g(i));
    });
  }
};

}  // namespace trifecta
