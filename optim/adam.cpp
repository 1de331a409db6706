// Adam and AdamW: hyperparameter checks, the state dict hooks, and the call of the fused kernel.
#include "optim/adam.h"

#include "optim/functional.h"

namespace trifecta::optim {
namespace {

std::vector<ParamGroupOptions> one_group(const NamedTensors& params) { return {{params, {}, {}}}; }

}  // namespace

Adam::Adam(const std::vector<Tensor>& params, const AdamOptions& options) : Adam(unnamed(params), options) {}
Adam::Adam(const NamedTensors& params, const AdamOptions& options) : Adam(one_group(params), options) {}
Adam::Adam(std::vector<ParamGroupOptions> groups, const AdamOptions& options)
    : Adam("Adam", false, std::move(groups), options) {}

Adam::Adam(std::string type_name, bool decoupled_weight_decay, std::vector<ParamGroupOptions> groups,
           const AdamOptions& options)
    : Optimizer(std::move(type_name), std::move(groups), options.lr, options.weight_decay),
      decoupled_weight_decay_(decoupled_weight_decay),
      options_(options) {
  check_adam_args(args_for(options, options.lr, options.weight_decay, 1), who());
}

AdamStepArgs Adam::args_for(const AdamOptions& options, double lr, double weight_decay, int64_t step) const {
  AdamStepArgs args;
  args.lr = lr;
  args.beta1 = options.beta1;
  args.beta2 = options.beta2;
  args.eps = options.eps;
  args.weight_decay = weight_decay;
  args.decoupled_weight_decay = decoupled_weight_decay_;
  args.step = step;
  return args;
}

AdamW::AdamW(const std::vector<Tensor>& params, const AdamOptions& options) : AdamW(unnamed(params), options) {}
AdamW::AdamW(const NamedTensors& params, const AdamOptions& options) : AdamW(one_group(params), options) {}
AdamW::AdamW(std::vector<ParamGroupOptions> groups, const AdamOptions& options)
    : Adam("AdamW", true, std::move(groups), options) {}

std::vector<std::string> Adam::state_names() const {
  if (options_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

std::vector<std::pair<std::string, double>> Adam::hyperparameters() const {
  return {{"beta1", options_.beta1},
          {"beta2", options_.beta2},
          {"eps", options_.eps},
          {"amsgrad", options_.amsgrad ? 1.0 : 0.0}};
}

AdamOptions Adam::with_saved(const std::map<std::string, double>& saved) const {
  AdamOptions options = options_;
  options.beta1 = saved.at("beta1");
  options.beta2 = saved.at("beta2");
  options.eps = saved.at("eps");
  return options;
}

void Adam::check_compatible(const std::map<std::string, double>& saved) const {
  check_saved_flag(saved, "amsgrad");
  TRIFECTA_CHECK((saved.at("amsgrad") != 0.0) == options_.amsgrad, type_name() + ".load_state_dict",
                 "the state was saved with amsgrad = ", saved.at("amsgrad"), " but this ", type_name(),
                 " has amsgrad = ", options_.amsgrad, " (AMSGrad keeps a max_exp_avg_sq per parameter)");
}

void Adam::check_hyperparameters(const std::map<std::string, double>& saved, double lr, double weight_decay,
                                 const std::string& who) const {
  check_adam_args(args_for(with_saved(saved), lr, weight_decay, 1), who);
}

void Adam::restore_hyperparameters(const std::map<std::string, double>& saved) { options_ = with_saved(saved); }

void Adam::update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& state, int64_t step,
                  const ParamGroup& group) {
  adam_step_(param, grad, state[0], state[1], options_.amsgrad ? state[2] : Tensor(),
             args_for(options_, group.lr, group.weight_decay, step));
}

}  // namespace trifecta::optim
