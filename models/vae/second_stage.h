// The Two-Stage VAE's second stage (Dai & Wipf, "Diagnosing and Enhancing VAE Models", ICLR 2019, section
// 4): a VAE whose data are the first stage's latent codes z (k dims). The first stage finds the data's
// manifold but its aggregate posterior q(z) need not match N(0, I); this second VAE learns q(z) with latents
// u ~ N(0, I), so that sampling u -> z = f2(u) -> x = decoder-1 mean draws from the data distribution.
//
// Encoder: three fully connected layers of `hidden` units with ReLU on z, then z concatenated to the last
// one (a skip connection) -> the mean and log standard deviation of q(u|z), k dims each. Decoder: the
// mirror image, u -> three FC + ReLU -> [h, u] -> z_hat, with one learned scalar scale gamma_z: the
// Gaussian likelihood p(z|u) = N(z_hat, gamma_z^2 I) (the first stage's, eq. 1 of the paper).
#pragma once

#include <memory>

#include "models/vae/vae.h"
#include "nn/linear.h"

namespace trifecta::vae {

class SecondStageVae : public GaussianVae {
 public:
  // latent: k, the first stage's latent dims (and this VAE's); hidden: the width of the FC layers (the
  // paper's 1024). PyTorch's default initialization, from init (the default generator when null).
  SecondStageVae(int64_t latent, int64_t hidden, Generator* init = nullptr);

  Posterior encode(const Tensor& z) override;  // z [N, k]: q(u|z)
  Tensor decode(const Tensor& u) override;     // u [N, k]: z_hat, the mean of p(z|u)
  Tensor log_likelihood(const Tensor& z, const Tensor& z_hat) const override;
  int64_t latent() const override { return latent_; }
  Tensor gamma() const { return exp(log_gamma_); }

  static constexpr const char* kKind = "vae-stage2";
  static constexpr int kDepth = 3;

 private:
  // Three FC + ReLU layers on x, then x concatenated to them, through out.
  Tensor skip_mlp(const std::shared_ptr<nn::Sequential>& layers, const std::shared_ptr<nn::Linear>& out,
                  const Tensor& x) const;

  int64_t latent_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  std::shared_ptr<nn::Linear> encoder_out_, decoder_out_;
  Tensor log_gamma_;
};

}  // namespace trifecta::vae
