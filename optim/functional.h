// The fused update of one parameter tensor, as functions: what the optimizers (optim/sgd.h, optim/adam.h)
// call once per parameter, and what the op tests run. Each validates its operands, then updates the
// parameter and its state in place with one kernel (kernels/optim/optim_ops.h gives the formulas). The
// writes bump the storage versions (so a graph that saved the old values refuses to run backward) and happen
// with grad mode off: an update is never part of a graph.
#pragma once

#include <string>

#include "kernels/optim/gsgd_ops.h"
#include "kernels/optim/optim_ops.h"
#include "tensor/tensor.h"

namespace trifecta::optim {

// SGD: momentum_buffer is undefined when args.momentum is 0 and has param's shape otherwise; on
// args.first_step the buffer's old contents are ignored.
void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdStepArgs& args);

// Adam and AdamW (args.decoupled_weight_decay); max_exp_avg_sq defined turns AMSGrad on. args.step counts
// this update (the first is 1).
void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const Tensor& max_exp_avg_sq, const AdamStepArgs& args);

// g-SGD, one layer of a ReLU chain (formula in kernels/optim/gsgd_ops.h): weight [rows, columns] is updated
// in place from grad; row_scale [rows], column_scale and column_factor [columns] and skeleton_factor [h] (h =
// rows for the First and Hidden layouts, columns for Last; a Hidden weight is square) are of the weight's dtype
// and device, or undefined for all ones. optim/gsgd.h computes them.
void gsgd_layer_step_(const Tensor& weight, const Tensor& grad, const Tensor& row_scale, const Tensor& column_scale,
                      const Tensor& column_factor, const Tensor& skeleton_factor, const GsgdLayerStepArgs& args);

// g-SGD's inverse chain rule term of the units below a layer: out[a] = sum_i weight[i,a] * grad[i,a], a new
// [columns] tensor of the weight's dtype and device.
Tensor gsgd_outgoing_sums(const Tensor& weight, const Tensor& grad);

// Throw, naming `who`, when hyperparameters make no sensible update: a negative or non-finite (NaN included)
// learning rate, weight decay, momentum or eps, a non-finite dampening, Nesterov without plain momentum, a
// beta outside [0, 1). The messages are PyTorch's ("Invalid learning rate: -1"). The steps above check their
// arguments with these; the optimizers also do at construction and on loading a state, so a bad setting
// fails early.
void check_sgd_args(const SgdStepArgs& args, const std::string& who);
void check_adam_args(const AdamStepArgs& args, const std::string& who);

}  // namespace trifecta::optim
