// CPU optimizer updates: the update loop over a parameter, its gradient and its state tensors, in parallel.
// The operands are iterated with the elementwise plan (kernels/common/elementwise_plan.h), which merges
// dims contiguous in every operand, so the usual case (all dense) is one flat loop the compiler vectorizes.
#include <algorithm>
#include <array>

#include "kernels/common/elementwise_plan.h"
#include "kernels/common/parallel.h"
#include "kernels/kernel_signatures.h"
#include "kernels/optim/optim_ops.h"
#include "kernels/registry.h"

namespace trifecta {
namespace {

struct CpuOptimLoop {
  template <class T, size_t S, class F>
  static void run(const char*, const Tensor& param, const Tensor& grad, const std::array<Tensor, S>& state,
                  const F& f) {
    constexpr int N = 2 + static_cast<int>(S);
    const std::array<const Tensor*, N> operands = update_operands(param, grad, state);
    const ElementwisePlan<N> plan = make_elementwise_plan<N>(operands);
    if (plan.numel == 0) return;
    T* base[N];
    for (int k = 0; k < N; ++k) base[k] = static_cast<T*>(operands[k]->raw_data());
    const int inner_dim = plan.ndim - 1;
    const int64_t inner = plan.ndim == 0 ? 1 : plan.sizes[inner_dim];
    constexpr auto state_indices = std::make_index_sequence<S>{};

    parallel_for(0, plan.numel, kElementwiseGrain, [&](int64_t begin, int64_t end) {
      int64_t index = begin;
      while (index < end) {
        // Pointers to the row holding `index`: decode the outer dims, then step to the column.
        int64_t row = index / inner;
        const int64_t column = index % inner;
        T* at[N];
        int64_t stride[N];
        for (int k = 0; k < N; ++k) {
          stride[k] = plan.ndim == 0 ? 0 : plan.strides[k][inner_dim];
          at[k] = base[k] + column * stride[k];
        }
        for (int d = inner_dim - 1; d >= 0; --d) {
          const int64_t i = row % plan.sizes[d];
          row /= plan.sizes[d];
          for (int k = 0; k < N; ++k) at[k] += i * plan.strides[k][d];
        }
        const int64_t count = std::min(inner - column, end - index);
        // Unit strides get their own loop so the compiler can vectorize it. The operands never overlap (the
        // front end checks), which the compiler cannot prove: ivdep tells it, or it keeps the loop scalar and
        // the step pays a scalar sqrt and division per parameter.
        const bool dense = std::all_of(stride, stride + N, [](int64_t s) { return s == 1; });
        if (dense) {
#pragma GCC ivdep
          for (int64_t i = 0; i < count; ++i) {
            T* element[N];
            for (int k = 0; k < N; ++k) element[k] = at[k] + i;
            update_element<T>(f, element, state_indices);
          }
        } else {
          for (int64_t i = 0; i < count; ++i) {
            T* element[N];
            for (int k = 0; k < N; ++k) element[k] = at[k] + i * stride[k];
            update_element<T>(f, element, state_indices);
          }
        }
        index += count;
      }
    });
  }
};

}  // namespace

TRIFECTA_REGISTER_KERNEL(sgd_step, CPU, &OptimKernels<CpuOptimLoop>::sgd);
TRIFECTA_REGISTER_KERNEL(adam_step, CPU, &OptimKernels<CpuOptimLoop>::adam);

}  // namespace trifecta
