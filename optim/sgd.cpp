// SGD: hyperparameter checks, the state dict hooks, and the call of the fused kernel.
#include "optim/sgd.h"

#include "optim/functional.h"

namespace trifecta::optim {

SGD::SGD(const std::vector<Tensor>& params, const SgdOptions& options) : SGD(unnamed(params), options) {}
SGD::SGD(const NamedTensors& params, const SgdOptions& options)
    : SGD(std::vector<ParamGroupOptions>{{params, {}, {}}}, options) {}

SGD::SGD(std::vector<ParamGroupOptions> groups, const SgdOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
  check_sgd_args(args_for(options, options.lr, options.weight_decay, 1), "SGD");
}

SgdStepArgs SGD::args_for(const SgdOptions& options, double lr, double weight_decay, int64_t step) {
  SgdStepArgs args;
  args.lr = lr;
  args.momentum = options.momentum;
  args.dampening = options.dampening;
  args.weight_decay = weight_decay;
  args.nesterov = options.nesterov;
  args.first_step = step == 1;
  return args;
}

SgdOptions SGD::with_saved(const std::map<std::string, double>& saved) const {
  SgdOptions options = options_;
  options.momentum = saved.at("momentum");
  options.dampening = saved.at("dampening");
  return options;
}

std::vector<std::string> SGD::state_names() const {
  if (options_.momentum == 0.0) return {};
  return {"momentum_buffer"};
}

std::vector<std::pair<std::string, double>> SGD::hyperparameters() const {
  return {{"momentum", options_.momentum},
          {"dampening", options_.dampening},
          {"nesterov", options_.nesterov ? 1.0 : 0.0}};
}

void SGD::check_compatible(const std::map<std::string, double>& saved) const {
  check_saved_flag(saved, "nesterov");
  const double momentum = saved.at("momentum");
  TRIFECTA_CHECK((momentum == 0.0) == (options_.momentum == 0.0), "SGD.load_state_dict", "the state was saved with momentum ",
                 momentum, " but this SGD has momentum ", options_.momentum,
                 "; with and without momentum the states differ (a momentum buffer or none)");
  TRIFECTA_CHECK((saved.at("nesterov") != 0.0) == options_.nesterov, "SGD.load_state_dict",
                 "the state was saved with nesterov = ", saved.at("nesterov"), " but this SGD has nesterov = ",
                 options_.nesterov);
}

void SGD::check_hyperparameters(const std::map<std::string, double>& saved, double lr, double weight_decay,
                                const std::string& who) const {
  check_sgd_args(args_for(with_saved(saved), lr, weight_decay, 1), who);
}

void SGD::restore_hyperparameters(const std::map<std::string, double>& saved) { options_ = with_saved(saved); }

void SGD::update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& state, int64_t step,
                 const ParamGroup& group) {
  sgd_step_(param, grad, state.empty() ? Tensor() : state[0], args_for(options_, group.lr, group.weight_decay, step));
}

}  // namespace trifecta::optim
