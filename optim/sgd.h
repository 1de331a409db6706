// Stochastic gradient descent with momentum (Polyak's heavy ball, or Nesterov's form as Sutskever et al.,
// "On the importance of initialization and momentum in deep learning", ICML 2013, write it), dampening and
// L2 weight decay: PyTorch's torch.optim.SGD, one fused kernel per parameter (formulas in
// kernels/optim/optim_ops.h). State per parameter: momentum_buffer, when momentum is nonzero.
#pragma once

#include "kernels/optim/optim_ops.h"
#include "optim/optimizer.h"

namespace trifecta::optim {

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;  // needs momentum > 0 and dampening 0
};

class SGD : public Optimizer {
 public:
  SGD(const std::vector<Tensor>& params, const SgdOptions& options = {});
  SGD(const NamedTensors& params, const SgdOptions& options = {});
  SGD(std::vector<ParamGroupOptions> groups, const SgdOptions& options = {});

  const SgdOptions& options() const { return options_; }

 protected:
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
  static SgdStepArgs args_for(const SgdOptions& options, double lr, double weight_decay, int64_t step);
  // These options with the saved hyperparameters in place.
  SgdOptions with_saved(const std::map<std::string, double>& saved) const;

  SgdOptions options_;  // lr and weight_decay here are the defaults of groups that set none
};

}  // namespace trifecta::optim
