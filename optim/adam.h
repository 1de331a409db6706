// Adam (Kingma & Ba, "Adam: A method for stochastic optimization", ICLR 2015) and AdamW (Loshchilov &
// Hutter, "Decoupled weight decay regularization", ICLR 2019), each optionally with AMSGrad (Reddi et al.,
// "On the convergence of Adam and beyond", ICLR 2018): PyTorch's torch.optim.Adam and AdamW, one fused
// kernel per parameter (formulas in kernels/optim/optim_ops.h).
//
// The two differ only in weight decay. Adam adds lambda * theta to the gradient (L2 regularization), which
// the adaptive denominator then rescales per coordinate, so weights with large gradients are decayed less;
// AdamW shrinks theta by lr * lambda * theta beside the Adam step, the same relative decay for every weight.
// AMSGrad divides by the running maximum of v instead of v, so the effective step size never grows, which
// restores convergence on problems where Adam provably fails (tests/unit/optim_test.cpp runs Reddi et al.'s
// example). State per parameter: exp_avg (m), exp_avg_sq (v) and, with AMSGrad, max_exp_avg_sq.
#pragma once

#include "kernels/optim/optim_ops.h"
#include "optim/optimizer.h"

namespace trifecta::optim {

// PyTorch's AdamW defaults weight_decay to 1e-2; here it is 0 for both: set it for AdamW.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(const std::vector<Tensor>& params, const AdamOptions& options = {});
  Adam(const NamedTensors& params, const AdamOptions& options = {});
  Adam(std::vector<ParamGroupOptions> groups, const AdamOptions& options = {});

  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::string type_name, bool decoupled_weight_decay, std::vector<ParamGroupOptions> groups,
       const AdamOptions& options);

  std::vector<std::string> state_names() const override;
  std::vector<std::pair<std::string, double>> hyperparameters() const override;
  void check_compatible(const std::map<std::string, double>& saved) const override;
  void check_hyperparameters(const std::map<std::string, double>& saved, double lr, double weight_decay,
                             const std::string& who) const override;
  void restore_hyperparameters(const std::map<std::string, double>& saved) override;
  void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& state, int64_t step,
              const ParamGroup& group) override;

 private:
  // The fused step's arguments under options, for a group's lr and weight decay at a parameter's step.
  AdamStepArgs args_for(const AdamOptions& options, double lr, double weight_decay, int64_t step) const;
  // These options with the saved hyperparameters in place.
  AdamOptions with_saved(const std::map<std::string, double>& saved) const;

  bool decoupled_weight_decay_;
  AdamOptions options_;  // lr and weight_decay here are the defaults of groups that set none
};

class AdamW : public Adam {
 public:
  AdamW(const std::vector<Tensor>& params, const AdamOptions& options = {});
  AdamW(const NamedTensors& params, const AdamOptions& options = {});
  AdamW(std::vector<ParamGroupOptions> groups, const AdamOptions& options = {});
};

}  // namespace trifecta::optim
