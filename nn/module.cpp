// Module bookkeeping: registration, recursive traversal, state dicts, mode and device changes.
#include "nn/module.h"

#include <map>
#include <sstream>

namespace trifecta::nn {

void Module::check_new_name(const std::string& name) const {
  TRIFECTA_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_,
                 "invalid member name '", name, "' (must be non-empty and contain no '.')");
  const auto taken = [&](const auto& list) {
    for (const auto& [n, v] : list)
      if (n == name) return true;
    return false;
  };
  TRIFECTA_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), type_name_, "member name '", name,
                 "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, const Tensor& value) {
  check_new_name(name);
  TRIFECTA_CHECK(value.defined() && is_floating(value.dtype()), type_name_, "parameter '", name,
                 "' must be a defined floating tensor");
  Tensor leaf = value.is_leaf() ? value : value.detach();
  leaf.requires_grad_();
  parameters_.emplace_back(name, leaf);
  return leaf;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& value) {
  check_new_name(name);
  TRIFECTA_CHECK(value.defined(), type_name_, "buffer '", name, "' is undefined");
  buffers_.emplace_back(name, value);
  return value;
}

Tensor Module::unregister_parameter(const std::string& name) {
  for (auto it = parameters_.begin(); it != parameters_.end(); ++it) {
    if (it->first != name) continue;
    Tensor removed = it->second;
    parameters_.erase(it);
    return removed;
  }
  TRIFECTA_FAIL(type_name_, "has no parameter '", name, "'");
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [name, t] : parameters_) out.emplace_back(prefix + name, t);
  if (buffers)
    for (const auto& [name, t] : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  // Every entry is checked before any is copied, so a state that does not fit leaves the module as it was
  // rather than half loaded.
  std::map<std::string, const Tensor*> entries;
  for (const auto& [name, t] : state) {
    TRIFECTA_CHECK(t.defined(), type_name_, "load_state_dict: entry '", name, "' is undefined");
    TRIFECTA_CHECK(entries.emplace(name, &t).second, type_name_, "load_state_dict: entry '", name, "' appears twice");
  }
  std::vector<std::pair<Tensor, const Tensor*>> copies;  // (module tensor, state tensor)
  for (const auto& [name, target] : state_dict()) {
    const auto it = entries.find(name);
    if (it == entries.end()) {
      TRIFECTA_CHECK(!strict, type_name_, "load_state_dict: '", name, "' is missing from the state");
      continue;
    }
    const Tensor& source = *it->second;
    TRIFECTA_CHECK(source.shape() == target.shape(), type_name_, "load_state_dict: '", name, "' has shape ",
                   source.shape().str(), " in the state but ", target.shape().str(), " in the module");
    // Floating values convert between precisions (as PyTorch's load does); anything else must match, since a
    // float arriving in a step counter or an index buffer is a different state, not a rounding.
    TRIFECTA_CHECK(source.dtype() == target.dtype() || (is_floating(source.dtype()) && is_floating(target.dtype())),
                   type_name_, "load_state_dict: '", name, "' has dtype ", dtype_name(source.dtype()),
                   " in the state but ", dtype_name(target.dtype()), " in the module");
    copies.emplace_back(target, &source);
    entries.erase(it);
  }
  if (strict)
    for (const auto& [name, t] : state)
      TRIFECTA_CHECK(!entries.count(name), type_name_, "load_state_dict: unexpected entry '", name, "'");
  NoGradGuard no_grad;
  for (const auto& [target, source] : copies) copy_(target, *source);
}

void Module::train(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->train(training);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const auto& [name, t] : state_dict()) {
    set_data(t, t.to(device));
    if (t.grad().defined()) t.set_grad(t.grad().to(device));
  }
}

void Module::to(DType dtype) {
  NoGradGuard no_grad;
  for (const auto& [name, t] : state_dict()) {
    if (!is_floating(t.dtype())) continue;  // step counters and indices keep their type
    set_data(t, t.to(dtype));
    if (t.grad().defined()) t.set_grad(t.grad().to(dtype));
  }
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.zero_grad();
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

std::string Module::describe() const {
  std::ostringstream out;
  const auto walk = [&](const auto& self, const Module& m, const std::string& name, int depth) -> void {
    out << std::string(2 * depth, ' ') << name << " (" << m.type_name_ << ")";
    for (const auto& [n, t] : m.parameters_) out << ' ' << n << t.shape().str();
    out << '\n';
    for (const auto& [n, child] : m.children_) self(self, *child, n, depth + 1);
  };
  walk(walk, *this, "model", 0);
  return out.str();
}

}  // namespace trifecta::nn
