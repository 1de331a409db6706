// The Two-Stage VAE's second stage: a skip-connected MLP VAE of the first stage's latent codes.
#include "models/vae/second_stage.h"

#include "nn/activation.h"
#include "nn/loss.h"
#include "nn/sequential.h"

namespace trifecta::vae {

namespace {

std::shared_ptr<nn::Sequential> relu_stack(int64_t in, int64_t hidden, Generator* init) {
  auto layers = std::make_shared<nn::Sequential>();
  for (int i = 0; i < SecondStageVae::kDepth; ++i) {
    layers->push_back(std::make_shared<nn::Linear>(i == 0 ? in : hidden, hidden, true, init));
    layers->push_back(std::make_shared<nn::ReLU>());
  }
  return layers;
}

}  // namespace

SecondStageVae::SecondStageVae(int64_t latent, int64_t hidden, Generator* init)
    : GaussianVae("SecondStageVae"), latent_(latent) {
  TRIFECTA_CHECK(latent > 0 && hidden > 0, "SecondStageVae", "needs positive latent and hidden sizes, got ", latent,
                 " and ", hidden);
  encoder_ = register_module("enc", relu_stack(latent, hidden, init));
  encoder_out_ = register_module("enc_out", std::make_shared<nn::Linear>(hidden + latent, 2 * latent, true, init));
  decoder_ = register_module("dec", relu_stack(latent, hidden, init));
  decoder_out_ = register_module("dec_out", std::make_shared<nn::Linear>(hidden + latent, latent, true, init));
  // gamma_z = exp(log_gamma) starts at 1, like the first stage's gamma.
  log_gamma_ = register_parameter("log_gamma", zeros({}));
}

Tensor SecondStageVae::skip_mlp(const std::shared_ptr<nn::Sequential>& layers, const std::shared_ptr<nn::Linear>& out,
                                const Tensor& x) const {
  return out->forward(concat({layers->forward(x), x}, 1));
}

GaussianVae::Posterior SecondStageVae::encode(const Tensor& z) {
  TRIFECTA_CHECK(z.ndim() == 2 && z.size(1) == latent_, "vae stage 2", "expects latent codes of shape [N, ", latent_,
                 "], got ", z.str());
  const Tensor stats = skip_mlp(encoder_, encoder_out_, z);
  // The head gives log sigma (the authors' parametrization); logvar = 2 log sigma.
  return {stats.narrow(1, 0, latent_), mul(stats.narrow(1, latent_, latent_), 2.0)};
}

Tensor SecondStageVae::decode(const Tensor& u) { return skip_mlp(decoder_, decoder_out_, u); }

Tensor SecondStageVae::log_likelihood(const Tensor& z, const Tensor& z_hat) const {
  return neg(nn::gaussian_nll(z, z_hat, log_gamma_, LossReduction::None));
}

}  // namespace trifecta::vae
