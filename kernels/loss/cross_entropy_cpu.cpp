// CPU cross-entropy kernels: the policies of cross_entropy_ops.h on the CPU row engine. Targets are
// range-checked before the rows run, because an Error cannot leave an OpenMP parallel region.
#include "kernels/kernel_signatures.h"
#include "kernels/loss/cross_entropy_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cpu.h"

namespace trifecta {
namespace {

void cross_entropy_cpu(const Tensor& logits, const Tensor& targets, double label_smoothing, int64_t ignore_index,
                       const Tensor& row_loss, const Tensor& row_lse) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  const int64_t* target = targets.data<int64_t>();
  for (int64_t r = 0; r < rows; ++r)
    if (target[r] != ignore_index && (target[r] < 0 || target[r] >= classes))
      fail_target_out_of_range(r, target[r], classes, ignore_index);
  dispatch_dtype<DTypeSet::Floating>(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const CrossEntropyForward<T> policy{target,
                                        classes,
                                        ignore_index,
                                        static_cast<A>(label_smoothing),
                                        static_cast<A*>(row_loss.raw_data()),
                                        static_cast<A*>(row_lse.raw_data()),
                                        nullptr};
    run_rows_cpu(policy, RowTensors<T, 1>{{static_cast<const T*>(logits.raw_data())}, nullptr},
                 RowLayout{rows, classes, 1});
  });
}

void cross_entropy_backward_cpu(const Tensor& logits, const Tensor& targets, const Tensor& row_lse,
                                const Tensor& grad_rows, double label_smoothing, int64_t ignore_index,
                                const Tensor& grad_logits) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  dispatch_dtype<DTypeSet::Floating>(logits.dtype(), "cross_entropy_backward", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const CrossEntropyBackward<T> policy{targets.data<int64_t>(),
                                         static_cast<const A*>(row_lse.raw_data()),
                                         static_cast<const A*>(grad_rows.raw_data()),
                                         grad_rows.stride(0),
                                         classes,
                                         ignore_index,
                                         static_cast<A>(label_smoothing)};
    run_rows_cpu(policy,
                 RowTensors<T, 1>{{static_cast<const T*>(logits.raw_data())}, static_cast<T*>(grad_logits.raw_data())},
                 RowLayout{rows, classes, 1});
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(cross_entropy, CPU, &cross_entropy_cpu);
TRIFECTA_REGISTER_KERNEL(cross_entropy_backward, CPU, &cross_entropy_backward_cpu);

}  // namespace trifecta
