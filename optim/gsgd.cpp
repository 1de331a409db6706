// g-SGD: the chain's checks, the skeleton products, the inverse chain rule and the per-layer factors of the
// fused update (the math is in optim/gsgd.h and kernels/optim/gsgd_ops.h).
#include "optim/gsgd.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/activation.h"
#include "nn/flatten.h"
#include "optim/functional.h"

namespace trifecta::optim {
namespace {

constexpr const char* kWho = "GSGD";

NamedTensors chain_parameters(const std::vector<nn::Linear*>& chain) {
  NamedTensors params;
  for (size_t k = 0; k < chain.size(); ++k) {
    TRIFECTA_CHECK(chain[k] != nullptr, kWho, "layer ", k, " of the chain is null");
    params.emplace_back(std::to_string(k) + ".weight", chain[k]->weight);
    if (chain[k]->bias.defined()) params.emplace_back(std::to_string(k) + ".bias", chain[k]->bias);
  }
  return params;
}

GsgdSkeleton skeleton_layout(size_t k, size_t layers) {
  if (k == 0) return GsgdSkeleton::First;
  return k + 1 == layers ? GsgdSkeleton::Last : GsgdSkeleton::Hidden;
}

Tensor inverse_square(const Tensor& x) { return reciprocal(square(x)); }

}  // namespace

std::vector<nn::Linear*> GSGD::relu_chain(const nn::Sequential& net) {
  std::vector<nn::Linear*> chain;
  size_t first = 0;
  if (net.size() > 0 && dynamic_cast<nn::Flatten*>(&net[0]) != nullptr) first = 1;
  for (size_t i = first; i < net.size(); ++i) {
    nn::UnaryModule& layer = net[i];
    const bool expect_linear = (i - first) % 2 == 0;
    if (expect_linear) {
      auto* linear = dynamic_cast<nn::Linear*>(&layer);
      TRIFECTA_CHECK(linear != nullptr, kWho, "layer ", i, " of the Sequential is a ", layer.type_name(),
                     " where a Linear should be: g-SGD needs a ReLU chain [Flatten,] Linear, ReLU, ..., Linear");
      chain.push_back(linear);
    } else {
      TRIFECTA_CHECK(dynamic_cast<nn::ReLU*>(&layer) != nullptr, kWho, "layer ", i, " of the Sequential is a ",
                     layer.type_name(), " where a ReLU should be: g-SGD's basis paths rely on the positive scale "
                     "invariance of ReLU (relu(c x) = c relu(x) for c > 0), which ", layer.type_name(), " lacks");
    }
  }
  TRIFECTA_CHECK(!chain.empty() && (net.size() - first) % 2 == 1, kWho,
                 "the Sequential must end with a Linear layer (a ReLU chain [Flatten,] Linear, ReLU, ..., Linear)");
  return chain;
}

GSGD::GSGD(const std::vector<nn::Linear*>& chain, const GsgdOptions& options)
    : Optimizer("GSGD", {{chain_parameters(chain), {}, {}}}, options.lr, 0.0), options_(options) {
  TRIFECTA_CHECK(chain.size() >= 2, kWho, "the chain has ", chain.size(),
                 " Linear layer; g-SGD needs at least one hidden layer (two or more Linear layers)");
  hidden_width_ = chain[0]->out_features;
  const DType dtype = chain[0]->weight.dtype();
  const Device device = chain[0]->weight.device();
  TRIFECTA_CHECK(dtype == DType::Float32 || dtype == DType::Float64, kWho, "the chain's weights are ",
                 dtype_name(dtype), "; g-SGD multiplies skeleton weights along whole paths, which over- and "
                 "underflows 16-bit floats: use float32 or float64");
  for (size_t k = 0; k < chain.size(); ++k) {
    const nn::Linear& linear = *chain[k];
    TRIFECTA_CHECK(!linear.weight_is_reparametrized(), kWho, "layer ", k,
                   "'s weight is reparametrized (spectral norm?): g-SGD updates the weight the layer multiplies by");
    TRIFECTA_CHECK(linear.weight.dtype() == dtype && linear.weight.device() == device, kWho, "layer ", k, "'s weight ",
                   linear.weight.str(), " differs in dtype or device from layer 0's ", chain[0]->weight.str());
    if (k > 0)
      TRIFECTA_CHECK(linear.in_features == chain[k - 1]->out_features, kWho, "layer ", k, " takes ",
                     linear.in_features, " inputs but layer ", k - 1, " gives ", chain[k - 1]->out_features);
    if (k + 1 < chain.size())
      TRIFECTA_CHECK(linear.out_features == hidden_width_, kWho, "hidden layer ", k, " has ", linear.out_features,
                     " units but hidden layer 0 has ", hidden_width_,
                     ": g-SGD's skeleton method (Meng et al. 2019) needs equal hidden widths");
    Layer layer;
    layer.weight = linear.weight;
    layer.bias = linear.bias;
    layer.skeleton = skeleton_layout(k, chain.size());
    // First/Hidden: the column of unit j's skeleton weight in row j; Last: its row in column j.
    const int64_t modulus = layer.skeleton == GsgdSkeleton::Last ? linear.out_features : linear.in_features;
    std::vector<int64_t> index(static_cast<size_t>(hidden_width_));
    for (int64_t j = 0; j < hidden_width_; ++j) index[static_cast<size_t>(j)] = j % modulus;
    layer.gather_dim = layer.skeleton == GsgdSkeleton::Last ? 0 : 1;
    const Shape index_shape = layer.gather_dim == 1 ? Shape{hidden_width_, 1} : Shape{1, hidden_width_};
    layer.skeleton_index = from_vector(index, index_shape).to(device);
    slot_[layer.weight.impl()] = {k, false};
    if (layer.bias.defined()) slot_[layer.bias.impl()] = {k, true};
    layers_.push_back(std::move(layer));
  }
  // The basis-path coordinates exist only while every skeleton weight is nonzero.
  NoGradGuard no_grad;
  for (size_t k = 0; k < layers_.size(); ++k) {
    const std::vector<double> values = skeleton_entries(k, layers_[k].weight).to_vector<double>();
    for (size_t j = 0; j < values.size(); ++j)
      TRIFECTA_CHECK(values[j] != 0.0 && std::isfinite(values[j]), kWho, "the skeleton weight of hidden unit ", j,
                     " in layer ", k, " is ", values[j],
                     "; basis-path values determine the weights only when every skeleton weight is finite and nonzero");
  }
}

Tensor GSGD::skeleton_entries(size_t k, const Tensor& t) const {
  const Layer& layer = layers_[k];
  return gather(t, layer.gather_dim, layer.skeleton_index).reshape({hidden_width_});
}

GSGD::Skeleton GSGD::skeleton_products() const {
  const size_t hidden_layers = layers_.size() - 1;
  Skeleton s;
  for (size_t k = 0; k < layers_.size(); ++k) s.weights.push_back(skeleton_entries(k, layers_[k].weight));
  const std::vector<Tensor>& entries = s.weights;
  s.down.resize(hidden_layers);
  s.up.resize(hidden_layers);
  s.down[0] = entries[0];
  for (size_t k = 1; k < hidden_layers; ++k) s.down[k] = mul(s.down[k - 1], entries[k]);
  s.up[hidden_layers - 1] = entries[hidden_layers];
  for (size_t k = hidden_layers - 1; k-- > 0;) s.up[k] = mul(s.up[k + 1], entries[k + 1]);
  s.path_values = mul(s.down[hidden_layers - 1], entries[hidden_layers]);
  return s;
}

Tensor GSGD::skeleton_path_terms(const Skeleton& s) const {
  // s_j dL/ds_j = w1_j dL/dw1_j - (what the non-skeleton paths leaving j above the first layer account for).
  Tensor terms = mul(s.weights[0], skeleton_entries(0, layers_[0].weight.grad()));
  for (size_t k = 1; k < layers_.size(); ++k) {
    const Tensor& w = layers_[k].weight;
    const Tensor g = w.grad();
    const Tensor leaving = gsgd_outgoing_sums(w, g);  // [h]: over all weights leaving each unit
    const Tensor skeleton = mul(s.weights[k], skeleton_entries(k, g));
    terms = sub(terms, sub(leaving, skeleton));
  }
  return terms;
}

void GSGD::check_gradients(const char* who) const {
  for (size_t k = 0; k < layers_.size(); ++k) {
    TRIFECTA_CHECK(layers_[k].weight.grad().defined() &&
                       (!layers_[k].bias.defined() || layers_[k].bias.grad().defined()),
                   who, "a parameter of layer ", k, " has no gradient; g-SGD updates the whole chain at once, since "
                   "every skeleton path runs through all of it (run backward through the whole chain)");
  }
}

std::vector<LayerPaths> GSGD::basis_path_values() const {
  NoGradGuard no_grad;
  const Skeleton s = skeleton_products();
  std::vector<LayerPaths> out;
  for (size_t k = 0; k < layers_.size(); ++k) {
    const Layer& layer = layers_[k];
    Tensor value = layer.weight;
    if (k + 1 < layers_.size()) value = mul(value, s.up[k].unsqueeze(1));
    if (k > 0) value = mul(value, s.down[k - 1].unsqueeze(0));
    // Skeleton entries: the first layer's name unit j's skeleton path, the others no path.
    const Tensor skeleton = skeleton_entries(k, value);
    const Tensor named = k == 0 ? s.path_values : zeros_like(s.path_values);
    const Shape index_shape = layer.skeleton_index.shape();
    value = scatter_add(value, layer.gather_dim, layer.skeleton_index, sub(named, skeleton).reshape(index_shape));
    Tensor bias;
    if (layer.bias.defined()) bias = k + 1 < layers_.size() ? mul(layer.bias, s.up[k]) : layer.bias.clone();
    out.push_back({value, bias});
  }
  return out;
}

std::vector<LayerPaths> GSGD::basis_path_gradient() const {
  check_gradients("GSGD.basis_path_gradient");
  NoGradGuard no_grad;
  const Skeleton s = skeleton_products();
  const Tensor skeleton_gradient = div(skeleton_path_terms(s), s.path_values);
  std::vector<LayerPaths> out;
  for (size_t k = 0; k < layers_.size(); ++k) {
    const Layer& layer = layers_[k];
    Tensor gradient = layer.weight.grad();
    if (k + 1 < layers_.size()) gradient = div(gradient, s.up[k].unsqueeze(1));
    if (k > 0) gradient = div(gradient, s.down[k - 1].unsqueeze(0));
    const Tensor skeleton = skeleton_entries(k, gradient);
    const Tensor named = k == 0 ? skeleton_gradient : zeros_like(skeleton_gradient);
    gradient = scatter_add(gradient, layer.gather_dim, layer.skeleton_index,
                           sub(named, skeleton).reshape(layer.skeleton_index.shape()));
    Tensor bias;
    if (layer.bias.defined())
      bias = k + 1 < layers_.size() ? div(layer.bias.grad(), s.up[k]) : layer.bias.grad().clone();
    out.push_back({gradient, bias});
  }
  return out;
}

void GSGD::begin_step() {
  check_gradients("GSGD.step");
  NoGradGuard no_grad;
  const double lr = param_groups().front().lr;
  const Skeleton s = skeleton_products();
  // R_j = s_j' / s_j = 1 - lr (dL/ds_j) / s_j = 1 - lr (s_j dL/ds_j) / s_j^2.
  const Tensor ratio = sub(ones_like(s.path_values),
                           mul(mul(skeleton_path_terms(s), inverse_square(s.path_values)), Scalar(lr)));
  const Tensor inverse_ratio = reciprocal(ratio);
  factors_.assign(layers_.size(), {});
  for (size_t k = 0; k < layers_.size(); ++k) {
    Factors& f = factors_[k];
    if (k + 1 < layers_.size()) f.row_scale = inverse_square(s.up[k]);
    if (k > 0) {
      f.column_scale = inverse_square(s.down[k - 1]);
      f.column_factor = inverse_ratio;
    } else {
      f.skeleton_factor = ratio;
    }
  }
}

void GSGD::update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>&, int64_t,
                  const ParamGroup& group) {
  const auto [k, is_bias] = slot_.at(param.impl());
  const Factors& f = factors_.at(k);
  if (is_bias) {
    // The bias path b U: b <- b - lr (dL/db) / U^2; an output bias is its own path.
    const Tensor scaled = f.row_scale.defined() ? mul(grad, f.row_scale) : grad;
    sgd_step_(param, scaled, Tensor(), {.lr = group.lr});
    return;
  }
  gsgd_layer_step_(param, grad, f.row_scale, f.column_scale, f.column_factor, f.skeleton_factor,
                   {.lr = group.lr, .skeleton = layers_[k].skeleton});
}

std::vector<std::pair<std::string, double>> GSGD::hyperparameters() const {
  return {{"hidden_width", static_cast<double>(hidden_width_)}, {"chain_layers", static_cast<double>(layers_.size())}};
}

void GSGD::check_compatible(const std::map<std::string, double>& saved) const {
  for (const auto& [name, value] : hyperparameters())
    TRIFECTA_CHECK(saved.at(name) == value, "GSGD.load_state_dict", "the state was saved for a chain with ", name,
                   " = ", saved.at(name), " but this GSGD's chain has ", value);
}

void GSGD::check_hyperparameters(const std::map<std::string, double>&, double lr, double weight_decay,
                                 const std::string& who) const {
  check_sgd_args({.lr = lr}, who);
  TRIFECTA_CHECK(weight_decay == 0.0, who, "Invalid weight_decay value: ", weight_decay,
                 " (g-SGD has no weight decay: an L2 penalty on weights is not invariant to rescaling)");
}

}  // namespace trifecta::optim
