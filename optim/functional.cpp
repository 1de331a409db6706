// Front ends of the fused optimizer updates: operand checks, then the kernel.
#include "optim/functional.h"

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/ops/factories.h"
#include "kernels/registry.h"
#include "tensor/overlap.h"

namespace trifecta::optim {
namespace {

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
    if (a.written) check_writable_in_place(a.tensor, op, a.name);
    for (size_t j = 0; j < i; ++j) {
      const Operand& b = operands[j];
      TRIFECTA_CHECK(!(a.written || b.written) || !share_memory(a.tensor, b.tensor), op, "the ", b.name, " and the ",
                     a.name, " share memory, but one of them is written in place");
    }
  }
}

bool non_negative(double value) { return std::isfinite(value) && value >= 0.0; }

}  // namespace

// The checks and messages of torch.optim.SGD and Adam, except that NaN and infinite values are refused too
// (PyTorch lets an infinite learning rate through) and SGD's dampening must be finite.
void check_sgd_args(const SgdStepArgs& args, const std::string& who) {
  TRIFECTA_CHECK(non_negative(args.lr), who, "Invalid learning rate: ", args.lr);
  TRIFECTA_CHECK(non_negative(args.momentum), who, "Invalid momentum value: ", args.momentum);
  TRIFECTA_CHECK(std::isfinite(args.dampening), who, "Invalid dampening value: ", args.dampening);
  TRIFECTA_CHECK(non_negative(args.weight_decay), who, "Invalid weight_decay value: ", args.weight_decay);
  TRIFECTA_CHECK(!args.nesterov || (args.momentum > 0.0 && args.dampening == 0.0), who,
                 "Nesterov momentum requires a momentum and zero dampening (got momentum ", args.momentum,
                 ", dampening ", args.dampening, ")");
}

void check_adam_args(const AdamStepArgs& args, const std::string& who) {
  TRIFECTA_CHECK(non_negative(args.lr), who, "Invalid learning rate: ", args.lr);
  TRIFECTA_CHECK(non_negative(args.eps), who, "Invalid epsilon value: ", args.eps);
  TRIFECTA_CHECK(args.beta1 >= 0.0 && args.beta1 < 1.0, who, "Invalid beta parameter at index 0: ", args.beta1,
                 " (beta1 must lie in [0, 1))");
  TRIFECTA_CHECK(args.beta2 >= 0.0 && args.beta2 < 1.0, who, "Invalid beta parameter at index 1: ", args.beta2,
                 " (beta2 must lie in [0, 1))");
  TRIFECTA_CHECK(non_negative(args.weight_decay), who, "Invalid weight_decay value: ", args.weight_decay);
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

void gsgd_layer_step_(const Tensor& weight, const Tensor& grad, const Tensor& row_scale, const Tensor& column_scale,
                      const Tensor& column_factor, const Tensor& skeleton_factor, const GsgdLayerStepArgs& args) {
  const char* op = "gsgd_layer_step";
  TRIFECTA_CHECK(non_negative(args.lr), op, "Invalid learning rate: ", args.lr);
  TRIFECTA_CHECK(weight.defined() && weight.ndim() == 2, op, "the weight must be a matrix [out, in], got ",
                 weight.defined() ? weight.str() : std::string("an undefined tensor"));
  check_operands(op, {{"weight", weight, true}, {"gradient", grad, false}});
  const int64_t rows = weight.size(0), columns = weight.size(1);
  TRIFECTA_CHECK(args.skeleton != GsgdSkeleton::Hidden || rows == columns, op,
                 "a hidden layer of an equal-width chain has a square weight, got ", weight.str());
  const int64_t units = args.skeleton == GsgdSkeleton::Last ? columns : rows;
  const std::pair<const char*, std::pair<const Tensor*, int64_t>> factors[] = {
      {"row_scale", {&row_scale, rows}},
      {"column_scale", {&column_scale, columns}},
      {"column_factor", {&column_factor, columns}},
      {"skeleton_factor", {&skeleton_factor, units}}};
  for (const auto& [name, factor] : factors) {
    const Tensor& t = *factor.first;
    if (!t.defined()) continue;
    TRIFECTA_CHECK(t.ndim() == 1 && t.size(0) == factor.second && t.is_contiguous() && t.dtype() == weight.dtype() &&
                       t.device() == weight.device(),
                   op, "the ", name, " should be a contiguous ", dtype_name(weight.dtype()), "[", factor.second, "] on ",
                   weight.device().str(), " for the weight ", weight.str(), ", got ", t.str());
    TRIFECTA_CHECK(!share_memory(t, weight), op, "the ", name, " shares memory with the weight it scales");
  }
  NoGradGuard no_grad;
  begin_inplace(weight, op);
  kernel_for<GsgdLayerStepKernel>(OpId::gsgd_layer_step, weight.device())(args, weight, grad, row_scale, column_scale,
                                                                         column_factor, skeleton_factor);
}

Tensor gsgd_outgoing_sums(const Tensor& weight, const Tensor& grad) {
  const char* op = "gsgd_outgoing_sums";
  TRIFECTA_CHECK(weight.defined() && weight.ndim() == 2 && is_floating(weight.dtype()), op,
                 "the weight must be a floating matrix [out, in], got ",
                 weight.defined() ? weight.str() : std::string("an undefined tensor"));
  TRIFECTA_CHECK(grad.defined() && grad.shape() == weight.shape() && grad.dtype() == weight.dtype() &&
                     grad.device() == weight.device(),
                 op, "the gradient ", grad.defined() ? grad.str() : std::string("(undefined)"),
                 " does not match the weight ", weight.str());
  Tensor out = empty({weight.size(1)}, weight.options());
  kernel_for<GsgdOutgoingSumsKernel>(OpId::gsgd_outgoing_sums, weight.device())(weight, grad, out);
  return out;
}

}  // namespace trifecta::optim
