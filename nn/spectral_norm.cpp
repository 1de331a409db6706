// Spectral normalization: the power iteration, sigma, and the re-registration of a layer's weight.
#include "nn/spectral_norm.h"

#include <utility>
#include <vector>

namespace trifecta::nn {

namespace {

// W viewed as a matrix [W.size(dim), numel / W.size(dim)], dim first (a copy only when dim != 0).
Tensor weight_matrix(const Tensor& weight, int64_t dim) {
  if (dim != 0) {
    std::vector<int64_t> order{dim};
    for (int64_t d = 0; d < weight.ndim(); ++d)
      if (d != dim) order.push_back(d);
    return weight.permute(order).reshape({weight.size(dim), -1});
  }
  return weight.reshape({weight.size(0), -1});
}

// x / max(||x||, eps): torch.nn.functional.normalize for a vector.
Tensor normalize(const Tensor& x, double eps) { return div(x, maximum(sqrt(sum(square(x))), eps)); }

class SpectralNorm : public WeightReparametrization {
 public:
  // u and v are the layer's registered buffers (handles to the same tensors, so moves and loads reach them).
  SpectralNorm(Tensor u, Tensor v, int64_t dim, SpectralNormOptions options)
      : u_(std::move(u)), v_(std::move(v)), dim_(dim), options_(options) {}
  Tensor compute(const Tensor& weight, bool training) override;

 private:
  Tensor u_, v_;
  int64_t dim_;
  SpectralNormOptions options_;
};

Tensor SpectralNorm::compute(const Tensor& weight, bool training) {
  const Tensor matrix = weight_matrix(weight, dim_);
  Tensor u = u_, v = v_;
  if (training && options_.n_power_iterations > 0) {
    NoGradGuard no_grad;
    for (int i = 0; i < options_.n_power_iterations; ++i) {
      copy_(v_, normalize(matmul(matrix.t(), u_), options_.eps));
      copy_(u_, normalize(matmul(matrix, v_), options_.eps));
    }
    // sigma's backward keeps u and v; copies keep them intact when the next forward updates the buffers
    // before this graph's backward runs (a discriminator applied twice per step does).
    u = u_.clone();
    v = v_.clone();
  }
  const Tensor sigma = sum(mul(u, matmul(matrix, v)));
  return div(weight, sigma);
}

}  // namespace

void apply_spectral_norm(WeightedLayer& layer, SpectralNormOptions options, Generator* generator) {
  const char* name = "spectral_norm";
  TRIFECTA_CHECK(!layer.weight_is_reparametrized(), name, layer.type_name(), "'s weight is already reparametrized");
  TRIFECTA_CHECK(options.n_power_iterations >= 0, name, "n_power_iterations must be non-negative, got ",
                 options.n_power_iterations);
  TRIFECTA_CHECK(options.eps > 0, name, "eps must be positive, got ", options.eps);
  const Tensor weight = layer.weight;
  const int64_t dim = options.dim.value_or(layer.output_dim());
  TRIFECTA_CHECK(dim >= 0 && dim < weight.ndim(), name, "dim ", dim, " is out of range for ", layer.type_name(),
                 "'s weight ", weight.str());
  TRIFECTA_CHECK(weight.numel() > 0, name, layer.type_name(), "'s weight ", weight.str(), " is empty");
  const int64_t rows = weight.size(dim), cols = weight.numel() / rows;

  NoGradGuard no_grad;
  const Tensor u = normalize(randn({rows}, weight.options(), generator), options.eps);
  const Tensor v = normalize(randn({cols}, weight.options(), generator), options.eps);
  layer.unregister_parameter("weight");
  layer.register_parameter("weight_orig", weight);
  // u before v: PyTorch's buffer order.
  const Tensor u_buffer = layer.register_buffer("weight_u", u);
  const Tensor v_buffer = layer.register_buffer("weight_v", v);
  layer.reparametrize_weight(std::make_unique<SpectralNorm>(u_buffer, v_buffer, dim, options));
}

}  // namespace trifecta::nn
