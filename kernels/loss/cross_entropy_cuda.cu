// CUDA cross-entropy kernels: the policies of cross_entropy_ops.h on the CUDA row engine (a warp per row
// for up to 1024 classes, a block per row for vocabulary-sized rows). Out-of-range targets are caught on
// the device: the first bad row is recorded in a flag that the host reads back after the kernel, so the
// error names the row and the value (a device assert would only kill the context).
#include "kernels/kernel_signatures.h"
#include "kernels/loss/cross_entropy_ops.h"
#include "kernels/registry.h"
#include "kernels/softmax/row_engine_cuda.cuh"

namespace trifecta {
namespace {

void cross_entropy_cuda(const Tensor& logits, const Tensor& targets, double label_smoothing, int64_t ignore_index,
                        const Tensor& row_loss, const Tensor& row_lse) {
  const int64_t rows = logits.size(0), classes = logits.size(1);
  if (rows == 0) return;
  const Tensor flag = empty({1}, {DType::Int64, logits.device()});
  auto* const bad_row = static_cast<unsigned long long*>(flag.raw_data());
  // All bits set: no bad row yet (atomicMin lowers it); read back as int64 it is -1.
  TRIFECTA_CUDA_CHECK(cudaMemsetAsync(bad_row, 0xff, sizeof(unsigned long long), gpu::stream()), "cross_entropy");
  const int64_t* target = targets.data<int64_t>();
  dispatch_dtype<DTypeSet::Floating>(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = compute_t<T>;
    const CrossEntropyForward<T> policy{target,
                                        classes,
                                        ignore_index,
                                        static_cast<A>(label_smoothing),
                                        static_cast<A*>(row_loss.raw_data()),
                                        static_cast<A*>(row_lse.raw_data()),
                                        bad_row};
    run_rows_cuda("cross_entropy", policy, RowTensors<T, 1>{{static_cast<const T*>(logits.raw_data())}, nullptr},
                  RowLayout{rows, classes, 1});
  });
  const int64_t first_bad = flag.item<int64_t>();
  if (first_bad >= 0) {
    const int64_t value = as_strided(targets, {}, {}, targets.offset() + first_bad).item<int64_t>();
    fail_target_out_of_range(first_bad, value, classes, ignore_index);
  }
}

void cross_entropy_backward_cuda(const Tensor& logits, const Tensor& targets, const Tensor& row_lse,
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
    run_rows_cuda("cross_entropy_backward", policy,
                  RowTensors<T, 1>{{static_cast<const T*>(logits.raw_data())}, static_cast<T*>(grad_logits.raw_data())},
                  RowLayout{rows, classes, 1});
  });
}

}  // namespace

TRIFECTA_REGISTER_KERNEL(cross_entropy, CUDA, &cross_entropy_cuda);
TRIFECTA_REGISTER_KERNEL(cross_entropy_backward, CUDA, &cross_entropy_backward_cuda);

}  // namespace trifecta
