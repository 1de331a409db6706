// Spectral normalization (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks"):
// a layer's weight W is replaced by W / sigma(W), where sigma is W's largest singular value, so the layer is
// 1-Lipschitz. sigma is estimated by power iteration (the paper's Algorithm 1) with vectors u and v that
// persist across steps: each training forward runs n_power_iterations of
//     v <- W^T u / ||W^T u||,    u <- W v / ||W v||
// without gradient, then sigma = u^T W v. The gradient flows through sigma with u and v held fixed (the
// paper's eq. 12), as in torch.nn.utils.spectral_norm. Evaluation runs no iteration and reuses u and v.
//
// The weight is viewed as a matrix [W.size(dim), rest] (dim moved first); dim is the output-feature dim:
// 0 for Linear and Conv2d, 1 for ConvTranspose2d, as PyTorch picks. The layer's state dict then holds
// weight_orig (the trained parameter) and the buffers weight_u [rows] and weight_v [cols], with PyTorch's
// names and order, so it loads into a PyTorch layer wrapped by torch.nn.utils.spectral_norm.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include "nn/weighted_layer.h"
#include "tensor/random.h"

namespace trifecta::nn {

struct SpectralNormOptions {
  int n_power_iterations = 1;
  double eps = 1e-12;                         // floor of the norms u and v are divided by
  std::optional<int64_t> dim = std::nullopt;  // default: the layer's output-feature dim
};

// Reparametrizes layer's weight in place: renames the parameter weight -> weight_orig, registers u and v
// (drawn from N(0, 1) with generator, or the default one when null, then normalized) and installs the
// reparametrization that computes W / sigma on every forward.
void apply_spectral_norm(WeightedLayer& layer, SpectralNormOptions options = {}, Generator* generator = nullptr);

// The same on a shared layer, which it returns so that layers can be built inline:
//     seq.push_back(nn::spectral_norm(std::make_shared<nn::Conv2d>(3, 64, 4)));
template <class Layer>
std::shared_ptr<Layer> spectral_norm(std::shared_ptr<Layer> layer, SpectralNormOptions options = {},
                                     Generator* generator = nullptr) {
  static_assert(std::is_base_of_v<WeightedLayer, Layer>, "spectral norm applies to a layer with a weight");
  TRIFECTA_CHECK(layer != nullptr, "spectral_norm", "null layer");
  apply_spectral_norm(*layer, options, generator);
  return layer;
}

}  // namespace trifecta::nn
