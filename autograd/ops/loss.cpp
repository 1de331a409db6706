// Front end of the fused cross-entropy. The kernel writes one loss and one log-sum-exp per row, in the
// compute type (float32 for 16-bit logits, so a mean over many rows is not accumulated in 16 bits); the
// reduction then uses sum and div, and the result is rounded to the logits' dtype once. The backward kernel
// turns the saved lse and the per-row gradient into softmax - smoothed one-hot in one pass.
#include "autograd/ops/loss.h"

#include "autograd/ops/elementwise.h"
#include "autograd/ops/reduce.h"
#include "autograd/record.h"
#include "kernels/loss/cross_entropy_ops.h"
#include "kernels/registry.h"

namespace trifecta {

namespace {

// float32 for 16-bit logits, the logits' own dtype otherwise: the kernels' compute_t.
DType compute_dtype(DType dtype) { return dtype == DType::Float64 ? DType::Float64 : DType::Float32; }

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, double label_smoothing, int64_t ignore_index,
                     LossReduction reduction) {
  const char* name = "cross_entropy";
  TRIFECTA_CHECK(logits.defined() && targets.defined(), name, "undefined input");
  TRIFECTA_CHECK(is_floating(logits.dtype()), name, "logits need a floating dtype, got ", logits.str());
  TRIFECTA_CHECK(targets.dtype() == DType::Int64, name, "targets must be int64 class indices, got ", targets.str());
  TRIFECTA_CHECK(logits.device() == targets.device(), name, "logits and targets on different devices: ", logits.str(),
                 " and ", targets.str());
  TRIFECTA_CHECK(logits.ndim() == 1 || logits.ndim() == 2, name, "logits must be [N, C] or [C], got ",
                 logits.shape().str());
  const bool batched = logits.ndim() == 2;
  const int64_t rows = batched ? logits.size(0) : 1, classes = logits.size(-1);
  TRIFECTA_CHECK(batched ? targets.shape() == Shape{rows} : targets.ndim() == 0, name, "targets of shape ",
                 targets.shape().str(), " do not match logits of shape ", logits.shape().str(), " (expected ",
                 batched ? Shape{rows}.str() : Shape{}.str(), ")");
  TRIFECTA_CHECK(classes > 0, name, "logits have no classes: ", logits.shape().str());
  TRIFECTA_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, name, "label_smoothing must lie in [0, 1], got ",
                 label_smoothing);

  const Tensor input = logits.detach().contiguous().view({rows, classes});
  const Tensor target = targets.detach().contiguous().view({rows});
  const DType acc = compute_dtype(logits.dtype());
  const Tensor row_loss = empty({rows}, {acc, logits.device()}), row_lse = empty({rows}, {acc, logits.device()});
  kernel_for<CrossEntropyKernel>(OpId::cross_entropy, logits.device())(input, target, label_smoothing, ignore_index,
                                                                       row_loss, row_lse);
  // Mean divides by the number of rows that count (a 0-dim tensor, so the count stays on the device).
  Tensor count;
  Tensor loss;
  switch (reduction) {
    case LossReduction::None:
      loss = row_loss.view(batched ? Shape{rows} : Shape{});
      break;
    case LossReduction::Sum:
      loss = sum(row_loss);
      break;
    case LossReduction::Mean:
      count = sum(ne(target, static_cast<double>(ignore_index)).to(acc));
      loss = div(sum(row_loss), count);
      break;
  }
  loss = loss.to(logits.dtype());
  record(OpId::cross_entropy, {logits}, {loss},
         [name, reduction, label_smoothing, ignore_index, rows, acc, logits_shape = logits.shape(),
          saved_input = SavedTensor(input), saved_target = SavedTensor(target), saved_lse = SavedTensor(row_lse),
          saved_count = SavedTensor(count)](const Grads& g) {
           const Tensor x = saved_input.unpack(name);
           // d L / d loss_row for every row: the incoming gradient itself (None), or one value for all rows.
           Tensor grad_rows = g[0].to(acc);
           if (reduction == LossReduction::Mean) grad_rows = div(grad_rows, saved_count.unpack(name));
           grad_rows =
               reduction == LossReduction::None ? grad_rows.reshape({rows}) : grad_rows.reshape({1}).expand({rows});
           Tensor grad_x = empty(x.shape(), x.options());
           kernel_for<CrossEntropyBackwardKernel>(OpId::cross_entropy_backward, x.device())(
               x, saved_target.unpack(name), saved_lse.unpack(name), grad_rows, label_smoothing, ignore_index, grad_x);
           return Grads{grad_x.view(logits_shape)};
         });
  return loss;
}

}  // namespace trifecta
