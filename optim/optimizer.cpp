// Optimizer bookkeeping: parameter groups, lazy state, the update loop, and the state dict (layout in
// optimizer.h).
#include "optim/optimizer.h"

#include <cmath>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops/factories.h"

namespace trifecta::optim {
namespace {

constexpr int64_t kStateFormatVersion = 1;
// The most steps a loaded state may count: far beyond any run, and small enough that counting on can never
// overflow an int64 (and exact in the double that Adam's bias correction raises betas to).
constexpr int64_t kMaxStepCount = int64_t{1} << 53;

Tensor int64_scalar(int64_t value) { return from_vector<int64_t>({value}, Shape{}); }
Tensor float64_scalar(double value) { return from_vector<double>({value}, Shape{}); }

std::string join(const std::vector<size_t>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  return out.str();
}

// Reads saved entries by name and remembers which were used, so what is left over can be reported.
class SavedEntries {
 public:
  SavedEntries(const NamedTensors& state, const std::string& who) : who_(who) {
    for (const auto& [name, t] : state) {
      TRIFECTA_CHECK(t.defined(), who_ + ".load_state_dict", "entry '", name, "' is undefined");
      TRIFECTA_CHECK(entries_.emplace(name, t).second, who_ + ".load_state_dict", "entry '", name, "' appears twice");
    }
  }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }
  const Tensor& take(const std::string& name) {
    const auto it = entries_.find(name);
    TRIFECTA_CHECK(it != entries_.end(), who_ + ".load_state_dict", "the state has no entry '", name, "'");
    used_.insert(name);
    return it->second;
  }
  double take_number(const std::string& name) {
    const Tensor& t = take(name);
    TRIFECTA_CHECK(t.numel() == 1, who_ + ".load_state_dict", "entry '", name, "' should hold one number, got ", t.str());
    return t.to_vector<double>()[0];
  }
  int64_t take_count(const std::string& name) {
    const Tensor& t = take(name);
    TRIFECTA_CHECK(t.numel() == 1 && t.dtype() == DType::Int64, who_ + ".load_state_dict", "entry '", name,
                   "' should be one int64, got ", t.str());
    const int64_t value = t.item<int64_t>();
    TRIFECTA_CHECK(value >= 0, who_ + ".load_state_dict", "entry '", name, "' is negative (", value, ")");
    return value;
  }
  // A vector of int64 indices: a float entry would have to be converted, and converting NaN or a huge value
  // to an integer is undefined behaviour.
  std::vector<int64_t> take_indices(const std::string& name) {
    const Tensor& t = take(name);
    TRIFECTA_CHECK(t.dtype() == DType::Int64 && t.ndim() == 1, who_ + ".load_state_dict", "entry '", name,
                   "' should be int64 indices, got ", t.str());
    return t.to_vector<int64_t>();
  }
  // Entries starting with prefix.
  std::vector<std::string> names_with_prefix(const std::string& prefix) const {
    std::vector<std::string> names;
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it)
      names.push_back(it->first);
    return names;
  }
  std::vector<std::string> unused() const {
    std::vector<std::string> names;
    for (const auto& [name, t] : entries_)
      if (!used_.count(name)) names.push_back(name);
    return names;
  }

 private:
  std::string who_;
  std::map<std::string, Tensor> entries_;
  std::set<std::string> used_;
};

}  // namespace

NamedTensors unnamed(const std::vector<Tensor>& params) {
  NamedTensors out;
  for (const Tensor& p : params) out.emplace_back("", p);
  return out;
}

Optimizer::Optimizer(std::string type_name, std::vector<ParamGroupOptions> groups, double default_lr,
                     double default_weight_decay)
    : type_name_(std::move(type_name)) {
  TRIFECTA_CHECK(!groups.empty(), type_name_, "needs at least one parameter group");
  std::set<const TensorImpl*> seen;
  std::set<std::string> names;
  bool all_named = true;
  for (const ParamGroupOptions& options : groups) {
    TRIFECTA_CHECK(!options.params.empty(), type_name_, "parameter group ", groups_.size(), " is empty");
    ParamGroup group;
    group.lr = options.lr.value_or(default_lr);
    group.weight_decay = options.weight_decay.value_or(default_weight_decay);
    group.initial_lr = group.lr;
    TRIFECTA_CHECK(std::isfinite(group.lr) && group.lr >= 0.0, type_name_, "Invalid learning rate: ", group.lr,
                   " in parameter group ", groups_.size());
    TRIFECTA_CHECK(std::isfinite(group.weight_decay) && group.weight_decay >= 0.0, type_name_,
                   "Invalid weight_decay value: ", group.weight_decay, " in parameter group ", groups_.size());
    for (const auto& [name, param] : options.params) {
      TRIFECTA_CHECK(param.defined() && is_floating(param.dtype()), type_name_, "parameter ", slots_.size(),
                     " ('", name, "') must be a defined floating tensor");
      TRIFECTA_CHECK(param.is_leaf(), type_name_, "parameter ", slots_.size(), " ('", name,
                     "') is not a leaf tensor: an optimizer updates leaves (detach() it, or optimize what it came from)");
      TRIFECTA_CHECK(seen.insert(param.impl()).second, type_name_, "parameter ", slots_.size(), " ('", name,
                     "') appears twice");
      all_named = all_named && !name.empty() && names.insert(name).second;
      group.params.push_back(slots_.size());
      slots_.push_back({param, name, 0, {}});
    }
    groups_.push_back(std::move(group));
  }
  if (!all_named)
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].key = std::to_string(i);
}

void Optimizer::set_lr(double lr) {
  TRIFECTA_CHECK(std::isfinite(lr) && lr >= 0.0, type_name_, "Invalid learning rate: ", lr);
  for (ParamGroup& group : groups_) group.lr = lr;
}

void Optimizer::check_saved_flag(const std::map<std::string, double>& saved, const std::string& name) const {
  const double flag = saved.at(name);
  TRIFECTA_CHECK(flag == 0.0 || flag == 1.0, type_name_ + ".load_state_dict", "'hyper.", name,
                 "' must be 0 or 1, got ", flag);
}

Tensor Optimizer::state(size_t i, const std::string& name) const {
  const Slot& slot = slots_.at(i);
  const std::vector<std::string> names = state_names();
  for (size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return slot.state.empty() ? Tensor() : slot.state[k];
  TRIFECTA_FAIL(type_name_, "keeps no state named '", name, "'");
}

void Optimizer::step() {
  for (const Slot& slot : slots_) {
    const Tensor grad = slot.param.grad();
    if (!grad.defined()) continue;
    TRIFECTA_CHECK(grad.shape() == slot.param.shape() && grad.dtype() == slot.param.dtype() &&
                       grad.device() == slot.param.device(),
                   type_name_ + ".step", "the gradient ", grad.str(), " of parameter ", slot.key,
                   " does not match the parameter ", slot.param.str());
  }
  begin_step();
  const std::vector<std::string> names = state_names();
  for (const ParamGroup& group : groups_) {
    for (size_t i : group.params) {
      Slot& slot = slots_[i];
      const Tensor grad = slot.param.grad();
      if (!grad.defined()) continue;
      if (slot.state.empty()) {
        for (size_t k = 0; k < names.size(); ++k) slot.state.push_back(zeros_like(slot.param));
      }
      for (Tensor& s : slot.state) {
        if (s.device() != slot.param.device() || s.dtype() != slot.param.dtype()) {
          Tensor moved = empty(s.shape(), slot.param.options());
          copy_(moved, s);
          s = moved;
        }
      }
      ++slot.step;
      update(slot.param, grad, slot.state, slot.step, group);
    }
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (const Slot& slot : slots_) slot.param.zero_grad();
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  out.emplace_back("optimizer." + type_name_, int64_scalar(kStateFormatVersion));
  out.emplace_back("step", int64_scalar(step_count_));
  for (const auto& [name, value] : hyperparameters()) out.emplace_back("hyper." + name, float64_scalar(value));
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& group = groups_[g];
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    std::vector<int64_t> indices(group.params.begin(), group.params.end());
    out.emplace_back(prefix + "params", from_vector(indices, Shape{static_cast<int64_t>(indices.size())}));
    out.emplace_back(prefix + "lr", float64_scalar(group.lr));
    out.emplace_back(prefix + "weight_decay", float64_scalar(group.weight_decay));
    out.emplace_back(prefix + "initial_lr", float64_scalar(group.initial_lr));
  }
  const std::vector<std::string> names = state_names();
  NoGradGuard no_grad;
  for (const Slot& slot : slots_) {
    if (slot.step == 0) continue;
    const std::string prefix = "state." + slot.key + ".";
    out.emplace_back(prefix + "step", int64_scalar(slot.step));
    for (size_t k = 0; k < names.size(); ++k) out.emplace_back(prefix + names[k], slot.state[k].clone());
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  const std::string where = type_name_ + ".load_state_dict";
  SavedEntries saved(state, type_name_);

  // The type first: every other mismatch is secondary to loading the wrong optimizer's state.
  const std::vector<std::string> markers = saved.names_with_prefix("optimizer.");
  TRIFECTA_CHECK(!markers.empty(), where, "not an optimizer state (it has no 'optimizer.<type>' entry)");
  TRIFECTA_CHECK(markers.size() == 1, where, "the state names ", markers.size(), " optimizer types");
  const std::string saved_type = markers[0].substr(std::string("optimizer.").size());
  TRIFECTA_CHECK(saved_type == type_name_, where, "the state is from a ", saved_type, " optimizer, not ", type_name_);
  const int64_t version = saved.take_count(markers[0]);
  TRIFECTA_CHECK(version == kStateFormatVersion, where, "state format version ", version, " (this build reads ",
                 kStateFormatVersion, ")");

  std::map<std::string, double> hyper;
  for (const auto& [name, value] : hyperparameters()) hyper[name] = saved.take_number("hyper." + name);
  check_compatible(hyper);
  const int64_t step_count = saved.take_count("step");
  TRIFECTA_CHECK(step_count <= kMaxStepCount, where, "'step' is ", step_count, ", more steps than a run takes (at most 2^53)");

  // The grouping must be the same: group count, then each group's parameter indices.
  size_t saved_groups = 0;
  while (saved.has("param_groups." + std::to_string(saved_groups) + ".params")) ++saved_groups;
  std::vector<std::vector<size_t>> saved_indices(saved_groups);
  size_t saved_params = 0;
  for (size_t g = 0; g < saved_groups; ++g) {
    for (int64_t i : saved.take_indices("param_groups." + std::to_string(g) + ".params"))
      saved_indices[g].push_back(static_cast<size_t>(i));
    saved_params += saved_indices[g].size();
  }
  TRIFECTA_CHECK(saved_params == slots_.size() && saved_groups == groups_.size(), where, "the state is for ",
                 saved_params, " parameters in ", saved_groups, " groups; this ", type_name_, " has ", slots_.size(),
                 " parameters in ", groups_.size(), " groups");
  std::vector<ParamGroup> groups = groups_;
  for (size_t g = 0; g < groups.size(); ++g) {
    TRIFECTA_CHECK(saved_indices[g] == groups[g].params, where, "parameter group ", g, " holds parameters [",
                   join(saved_indices[g]), "] in the state but [", join(groups[g].params), "] here");
    const std::string prefix = "param_groups." + std::to_string(g) + ".";
    groups[g].lr = saved.take_number(prefix + "lr");
    groups[g].weight_decay = saved.take_number(prefix + "weight_decay");
    groups[g].initial_lr = saved.take_number(prefix + "initial_lr");
    // The checks of construction, before anything is copied: a NaN here would reach every parameter at the
    // next step.
    const std::string group_where = where + " (parameter group " + std::to_string(g) + " of the state)";
    check_hyperparameters(hyper, groups[g].lr, groups[g].weight_decay, group_where);
    TRIFECTA_CHECK(std::isfinite(groups[g].initial_lr) && groups[g].initial_lr >= 0.0, group_where,
                   "Invalid initial learning rate: ", groups[g].initial_lr);
  }

  // Per-parameter state, copied onto each parameter's device and dtype.
  const std::vector<std::string> names = state_names();
  std::vector<int64_t> steps(slots_.size(), 0);
  std::vector<std::vector<Tensor>> tensors(slots_.size());
  NoGradGuard no_grad;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = slots_[i];
    const std::string prefix = "state." + slot.key + ".";
    if (!saved.has(prefix + "step")) continue;
    steps[i] = saved.take_count(prefix + "step");
    // Each step() updates a parameter at most once, and its state exists only after its first update.
    TRIFECTA_CHECK(steps[i] >= 1, where, "'", prefix, "step' is 0, but a parameter has state only after an update");
    TRIFECTA_CHECK(steps[i] <= step_count, where, "'", prefix, "step' is ", steps[i], " but the optimizer took ",
                   step_count, " steps");
    for (const std::string& name : names) {
      TRIFECTA_CHECK(saved.has(prefix + name), where, "the state has '", prefix, "step' but no '", prefix, name, "'");
      const Tensor& value = saved.take(prefix + name);
      TRIFECTA_CHECK(value.shape() == slot.param.shape(), where, "'", prefix, name, "' has shape ", value.shape().str(),
                     " but parameter ", slot.key, " has shape ", slot.param.shape().str());
      Tensor copy = empty(slot.param.shape(), slot.param.options());
      copy_(copy, value);
      tensors[i].push_back(copy);
    }
  }
  const std::vector<std::string> unused = saved.unused();
  if (!unused.empty()) {
    std::ostringstream list;
    for (size_t i = 0; i < unused.size() && i < 5; ++i) list << (i ? ", " : "") << "'" << unused[i] << "'";
    if (unused.size() > 5) list << " and " << unused.size() - 5 << " more";
    TRIFECTA_FAIL(where, "unexpected entries ", list.str(),
                  " (state saved for other parameters, under other names, or by differently configured ", type_name_, "?)");
  }

  restore_hyperparameters(hyper);
  groups_ = std::move(groups);
  for (size_t i = 0; i < slots_.size(); ++i) {
    slots_[i].step = steps[i];
    slots_[i].state = std::move(tensors[i]);
  }
  step_count_ = step_count;
}

}  // namespace trifecta::optim
