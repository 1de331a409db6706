// Front ends of the fused optimizer updates: operand checks, then the kernel.
#include "optim/functional.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops/factories.h"
#include "kernels/registry.h"

namespace trifecta::optim {
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

// Whether two elements of t can share a storage slot. Sorted by stride, a layout cannot overlap itself when
// each dim's stride exceeds the furthest reach of all smaller dims together; this accepts every layout a
// view of a dense tensor produces (transposes, slices) and rejects expanded dims (stride 0).
bool overlaps_itself(const Tensor& t) {
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

struct Operand {
  const char* name;
  Tensor tensor;
  bool written;
};

// The parameter is updated in place from the gradient, and so is each state tensor: one shape, dtype and
// device for all, and no two of them (nor any with itself) sharing memory where one is written, or an
// element could be read after another thread wrote it.
void check_operands(const char* op, const std::vector<Operand>& operands) {
  const Tensor& param = operands[0].tensor;
  TRIFECTA_CHECK(param.defined(), op, "undefined parameter");
  TRIFECTA_CHECK(is_floating(param.dtype()), op, "the parameter must be floating, got ", param.str());
  for (size_t i = 0; i < operands.size(); ++i) {
    const Operand& a = operands[i];
    TRIFECTA_CHECK(a.tensor.defined(), op, "undefined ", a.name);
    TRIFECTA_CHECK(a.tensor.shape() == param.shape() && a.tensor.dtype() == param.dtype() &&
                       a.tensor.device() == param.device(),
                   op, "the ", a.name, " ", a.tensor.str(), " does not match the parameter ", param.str());
    TRIFECTA_CHECK(!a.written || !overlaps_itself(a.tensor), op, "the ", a.name, " ", a.tensor.str(),
                   " has elements that share memory (an expanded view?), but it is written in place");
    for (size_t j = 0; j < i; ++j) {
      const Operand& b = operands[j];
      TRIFECTA_CHECK(!(a.written || b.written) || !share_memory(a.tensor, b.tensor), op, "the ", b.name, " and the ",
                     a.name, " share memory, but one of them is written in place");
    }
  }
}

bool non_negative(double value) { return std::isfinite(value) && value >= 0.0; }

}  // namespace

void check_sgd_args(const SgdStepArgs& args, const std::string& who) {
  TRIFECTA_CHECK(non_negative(args.lr), who, "invalid learning rate ", args.lr);
  TRIFECTA_CHECK(non_negative(args.momentum), who, "invalid momentum ", args.momentum);
  TRIFECTA_CHECK(std::isfinite(args.dampening), who, "invalid dampening ", args.dampening);
  TRIFECTA_CHECK(non_negative(args.weight_decay), who, "invalid weight decay ", args.weight_decay);
  TRIFECTA_CHECK(!args.nesterov || (args.momentum > 0.0 && args.dampening == 0.0), who,
                 "Nesterov momentum needs momentum > 0 and dampening 0 (got momentum ", args.momentum, ", dampening ",
                 args.dampening, ")");
}

void check_adam_args(const AdamStepArgs& args, const std::string& who) {
  TRIFECTA_CHECK(non_negative(args.lr), who, "invalid learning rate ", args.lr);
  TRIFECTA_CHECK(args.beta1 >= 0.0 && args.beta1 < 1.0, who, "beta1 must lie in [0, 1), got ", args.beta1);
  TRIFECTA_CHECK(args.beta2 >= 0.0 && args.beta2 < 1.0, who, "beta2 must lie in [0, 1), got ", args.beta2);
  TRIFECTA_CHECK(non_negative(args.eps), who, "invalid eps ", args.eps);
  TRIFECTA_CHECK(non_negative(args.weight_decay), who, "invalid weight decay ", args.weight_decay);
  TRIFECTA_CHECK(args.step >= 1, who, "the step count starts at 1, got ", args.step);
}

void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStepArgs& args) {
  check_sgd_args(args, "sgd_step");
  TRIFECTA_CHECK(momentum_buffer.defined() == (args.momentum != 0.0), "sgd_step",
                 momentum_buffer.defined() ? "a momentum buffer was given but momentum is 0"
                                           : "momentum is nonzero but no momentum buffer was given");
  std::vector<Operand> operands = {{"parameter", param, true}, {"gradient", grad, false}};
  if (momentum_buffer.defined()) operands.push_back({"momentum buffer", momentum_buffer, true});
  check_operands("sgd_step", operands);
  NoGradGuard no_grad;
  for (const Operand& operand : operands)
    if (operand.written) begin_inplace(operand.tensor, "sgd_step");
  kernel_for<SgdStepKernel>(OpId::sgd_step, param.device())(args, param, grad, momentum_buffer);
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStepArgs& args) {
  check_adam_args(args, "adam_step");
  std::vector<Operand> operands = {{"parameter", param, true}, {"gradient", grad, false}, {"exp_avg", exp_avg, true},
                                   {"exp_avg_sq", exp_avg_sq, true}};
  if (max_exp_avg_sq.defined()) operands.push_back({"max_exp_avg_sq", max_exp_avg_sq, true});
  check_operands("adam_step", operands);
  NoGradGuard no_grad;
  for (const Operand& operand : operands)
    if (operand.written) begin_inplace(operand.tensor, "adam_step");
  kernel_for<AdamStepKernel>(OpId::adam_step, param.device())(args, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq);
}

}  // namespace trifecta::optim
