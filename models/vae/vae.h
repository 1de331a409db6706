// Variational auto-encoders for 28x28 grayscale images (Kingma & Welling, "Auto-Encoding Variational Bayes",
// ICLR 2014). An encoder maps an image x to a diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar))); a
// decoder maps a latent z to the parameters of p(x|z); training maximizes the evidence lower bound
//     ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))          (eq. 3 of the paper)
// with one reparameterized sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (eq. 4 and 7).
//
// Three architectures: a convolutional one (two stride-2 convolutions down to 7x7 and a mirror of transposed
// convolutions up, in the style of the InfoGAN networks the Two-Stage VAE paper uses), the Two-Stage VAE
// authors' InfoGAN network itself (with batch norm and leaky ReLU, their first stage on 28x28 images; Dai &
// Wipf 2019, appendix and daib13/TwoStageVAE) and an MLP. Two
// likelihoods: Bernoulli on pixel intensities (logits out), and Gaussian with one learned scalar scale gamma
// for the whole image (Dai & Wipf, "Diagnosing and Enhancing VAE Models", ICLR 2019, section 4), whose mean
// is sigmoid(decoder output).
#pragma once

#include <memory>
#include <string>

#include "nn/module.h"
#include "nn/sequential.h"
#include "tensor/random.h"

namespace trifecta::vae {

enum class Architecture { Conv, InfoGan, Mlp };
enum class Likelihood { Bernoulli, Gaussian };
// What training minimizes: the negative ELBO, or a Wasserstein auto-encoder's penalized reconstruction
// cost (Tolstikhin et al., ICLR 2018; models/vae/wae.h) with the MMD or a latent discriminator as penalty.
enum class Objective { Elbo, WaeMmd, WaeGan };

struct VaeConfig {
  Architecture architecture = Architecture::Conv;
  Likelihood likelihood = Likelihood::Bernoulli;
  int64_t latent = 16;   // dimensions of z
  int64_t hidden = 256;  // width of the fully connected layers
  Objective objective = Objective::Elbo;

  // "vae-conv-bernoulli", "vae-mlp-gaussian", "wae-mmd-conv", ...: what checkpoints record to refuse another
  // model. (A WAE's decoder mean is sigmoid(output) and it has no likelihood.)
  std::string kind() const;
  // From flag values ("conv"/"infogan"/"mlp", "bernoulli"/"gaussian", "elbo"/"wae-mmd"/"wae-gan"); errors
  // name the flag.
  static VaeConfig from_flags(const std::string& architecture, const std::string& likelihood, int64_t latent,
                              int64_t hidden, const std::string& objective = "elbo");
};

// A VAE of any data: an encoder giving a diagonal Gaussian q(z|x), a decoder giving the parameters of
// p(x|z). The image VAE below and the Two-Stage VAE's second stage (models/vae/second_stage.h, a VAE of the
// first stage's latent codes) share the bounds computed on it (negative_elbo_terms, the IWAE bound).
class GaussianVae : public nn::Module {
 public:
  using nn::Module::Module;
  struct Posterior {
    Tensor mu, logvar;  // [N, latent] each
  };
  virtual Posterior encode(const Tensor& x) = 0;
  virtual Tensor decode(const Tensor& z) = 0;
  // log p(x | z) summed over the dims of each example: [N].
  virtual Tensor log_likelihood(const Tensor& x, const Tensor& decoded) const = 0;
  virtual int64_t latent() const = 0;
};

class Vae : public GaussianVae {
 public:
  // Parameters get PyTorch's default initialization (the InfoGAN network: N(0, 0.02) weights, zero biases,
  // as the authors' code), drawn from init (the default generator when null).
  explicit Vae(const VaeConfig& config, Generator* init = nullptr);

  Posterior encode(const Tensor& images) override;  // images [N, 1, 28, 28] in [0, 1]
  // [N, 1, 28, 28]: logits (Bernoulli) or pre-sigmoid mean (Gaussian)
  Tensor decode(const Tensor& z) override;
  // log p(x | z) summed over pixels, one value per example: [N].
  Tensor log_likelihood(const Tensor& images, const Tensor& decoded) const override;
  int64_t latent() const override { return config_.latent; }
  // The image the decoder means, in [0, 1].
  Tensor mean_image(const Tensor& decoded) const;
  const VaeConfig& config() const { return config_; }
  // WAE-GAN only: the latent discriminator's logit that z came from the prior, [N, 1] (models/vae/wae.h).
  Tensor discriminate(const Tensor& z);
  // The parameters of the encoder and decoder (and gamma), without the latent discriminator's.
  NamedTensors autoencoder_parameters() const;
  NamedTensors discriminator_parameters() const;
  static constexpr const char* kDiscriminator = "latent_disc";
  // The Gaussian decoder's scale gamma (undefined for Bernoulli).
  Tensor gamma() const;

 private:
  VaeConfig config_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_, discriminator_;
  Tensor log_gamma_;
  void build_infogan(Generator* init);
};

// z = mu + exp(logvar / 2) * eps with eps from noise (the default generator when null).
Tensor reparameterize(const GaussianVae::Posterior& q, Generator* noise = nullptr);

// The two terms of the negative ELBO for each example, with one posterior sample: [N] each.
struct ElboTerms {
  Tensor reconstruction;  // -log p(x | z)
  Tensor kl;              // KL(q(z|x) || N(0, I)), in closed form
};
ElboTerms negative_elbo_terms(GaussianVae& model, const Tensor& x, Generator* noise = nullptr);

// log p(x) by importance weighting with k posterior samples (Burda, Grosse & Salakhutdinov, "Importance
// Weighted Autoencoders", ICLR 2016, eq. 8): log (1/k) sum_i p(x, z_i) / q(z_i | x). A lower bound on
// log p(x) that tightens as k grows (k = 1 is the ELBO). One value per example: [N].
Tensor importance_weighted_log_likelihood(GaussianVae& model, const Tensor& x, int64_t k, Generator* noise = nullptr);

}  // namespace trifecta::vae
