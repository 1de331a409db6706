// Optimizer: the base of SGD, Adam and AdamW (optim/sgd.h, optim/adam.h). It holds the parameters in
// groups (each group with its own learning rate and weight decay), creates each parameter's state at its
// first update, skips parameters without a gradient, and exports and imports everything a resumed run
// needs to continue bit for bit, as named tensors that go into a safetensors checkpoint beside the model's:
//
//   optimizer.<Type>              int64 0-dim, the state format version (1); names the optimizer type
//   step                          int64 0-dim, calls of step() so far
//   hyper.<name>                  float64 0-dim, optimizer-wide hyperparameters (flags as 0/1)
//   param_groups.<g>.params       int64 [n], the indices of the group's parameters
//   param_groups.<g>.lr           float64 0-dim (also .weight_decay and .initial_lr)
//   state.<key>.step              int64 0-dim, updates this parameter has received
//   state.<key>.<tensor>          the parameter's state tensors (exp_avg, exp_avg_sq, momentum_buffer, ...)
//
// <key> is the parameter's name when every parameter was given a distinct one (module.named_parameters()),
// else its index in the order the optimizer received them (PyTorch's numbering). A parameter that has never
// been updated has no state entries, as in PyTorch.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/safetensors.h"
#include "tensor/tensor.h"

namespace trifecta::optim {

// Parameters that share a learning rate and weight decay; an unset value takes the optimizer's default.
// Names may be empty (see the key rule above).
struct ParamGroupOptions {
  NamedTensors params;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

// A parameter group as the optimizer holds it.
struct ParamGroup {
  std::vector<size_t> params;  // indices into the optimizer's parameter list
  double lr = 0.0;
  double weight_decay = 0.0;
  double initial_lr = 0.0;     // the lr the group started with: what schedules scale (optim/lr_schedule.h)
};

// Parameters without names, for optimizers built from a plain list.
NamedTensors unnamed(const std::vector<Tensor>& params);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  const std::string& type_name() const { return type_name_; }

  // One update of every parameter that has a gradient. Every gradient is checked (shape, dtype, device)
  // before any parameter moves. State tensors follow their parameter to its current device and dtype.
  void step();
  // Drops every parameter's gradient, so the next backward starts fresh.
  void zero_grad();

  // Learning rate: lr() reads the first group's; set_lr sets every group's.
  double lr() const { return groups_.front().lr; }
  void set_lr(double lr);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  int64_t step_count() const { return step_count_; }
  size_t num_params() const { return slots_.size(); }
  const Tensor& param(size_t i) const { return slots_.at(i).param; }
  // Updates parameter i has received, and its state tensor `name` (undefined before its first update).
  int64_t param_step(size_t i) const { return slots_.at(i).step; }
  Tensor state(size_t i, const std::string& name) const;

  // A snapshot (copies) of the state in the layout above.
  NamedTensors state_dict() const;
  // Restores a state saved by an optimizer of the same type over parameters of the same count, grouping and
  // shapes; hyperparameters and learning rates come from the state. Tensors are copied to each parameter's
  // device and dtype. Anything that does not fit (another optimizer type, a different parameter count or
  // shape, a flag that changes the state's layout, missing or unexpected entries) is an Error naming it,
  // thrown before anything changes.
  void load_state_dict(const NamedTensors& state);

 protected:
  Optimizer(std::string type_name, std::vector<ParamGroupOptions> groups, double default_lr,
            double default_weight_decay);

  // The state tensors each parameter gets (shaped like it, zero at creation), in order.
  virtual std::vector<std::string> state_names() const = 0;
  // Optimizer-wide hyperparameters as numbers (flags as 0 and 1), for the state dict.
  virtual std::vector<std::pair<std::string, double>> hyperparameters() const = 0;
  // Throws when saved hyperparameters would change what state this optimizer keeps (momentum on or off,
  // AMSGrad), or a saved flag is not 0 or 1; called before anything is loaded.
  virtual void check_compatible(const std::map<std::string, double>& saved) const = 0;
  // Throws, naming `who`, when the saved hyperparameters with one saved group's learning rate and weight
  // decay fail the checks the constructor applies (a NaN beta, a negative momentum, ...); called for every
  // group before anything is loaded.
  virtual void check_hyperparameters(const std::map<std::string, double>& saved, double lr, double weight_decay,
                                     const std::string& who) const = 0;
  // Adopts saved hyperparameters (every name of hyperparameters() is present, and they passed the checks
  // above); must not throw.
  virtual void restore_hyperparameters(const std::map<std::string, double>& saved) = 0;
  // Called by step() once every gradient has passed its checks and before any parameter moves: an optimizer
  // whose update couples parameters (g-SGD, optim/gsgd.h) reads all of them here.
  virtual void begin_step() {}
  // Updates one parameter: step counts its updates, this one included (the first is 1).
  virtual void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& state, int64_t step,
                      const ParamGroup& group) = 0;

  // "SGD: " prefixes for errors from subclasses.
  const char* who() const { return type_name_.c_str(); }
  // Throws unless the saved flag hyper.<name> is 0 or 1.
  void check_saved_flag(const std::map<std::string, double>& saved, const std::string& name) const;

 private:
  struct Slot {
    Tensor param;
    std::string key;            // the <key> of the state dict
    int64_t step = 0;
    std::vector<Tensor> state;  // in state_names() order; empty until the first update
  };

  std::string type_name_;
  std::vector<Slot> slots_;
  std::vector<ParamGroup> groups_;
  int64_t step_count_ = 0;
};

}  // namespace trifecta::optim
