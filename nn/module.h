// Module: the unit networks are built from. A module owns named parameters (leaf tensors that require
// grad), named buffers (state that is saved but not trained, like batch norm's running statistics) and named
// child modules. Names compose with dots, so a state dict reads like PyTorch's ("enc.0.weight") and a
// trifecta checkpoint loads into the PyTorch twin of the same network.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "tensor/safetensors.h"

namespace trifecta::nn {

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }

  // Recursive, in registration order, with dotted names.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  // Parameters and buffers, as PyTorch orders them: a module's own parameters, then its own buffers, then
  // each child's state in turn.
  NamedTensors state_dict() const;
  // Copies values into the existing tensors (keeping their device and dtype). With strict, a missing or
  // unexpected name is an error; a shape mismatch, a non-floating dtype mismatch, a duplicate or undefined
  // entry always is. Errors name the tensor and both shapes (or dtypes). All or nothing: everything is
  // checked before anything is copied, so a failed load leaves the module unchanged.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }

  // Training mode (dropout active, batch norm on batch statistics) for this module and all below it.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves or converts every parameter and buffer in place: tensors handed out earlier see the change.
  void to(Device device);
  void to(DType dtype);
  void zero_grad();
  int64_t num_parameters() const;
  // One line per module, indented by depth: "enc (Sequential)", "  0 (Conv2d) weight[32, 1, 4, 4] ...".
  std::string describe() const;

  // Registration, called from constructors (public, as in PyTorch, so that wrappers such as spectral norm
  // can re-register a module's tensors). Returns the stored handle; keep it as a member.
  Tensor register_parameter(const std::string& name, const Tensor& value);
  Tensor register_buffer(const std::string& name, const Tensor& value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name);
    children_.emplace_back(name, module);
    return module;
  }
  // Takes a parameter out of this module's list (for wrappers such as spectral norm that replace it with a
  // computed tensor); returns it.
  Tensor unregister_parameter(const std::string& name);

 private:
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;

  std::string type_name_;
  bool training_ = true;
  NamedTensors parameters_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module with one input and one output, the kind Sequential chains.
class UnaryModule : public Module {
 public:
  using Module::Module;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace trifecta::nn
