// Variational auto-encoders for 28x28 grayscale images (Kingma & Welling, "Auto-Encoding Variational Bayes",
// ICLR 2014). An encoder maps an image x to a diagonal Gaussian q(z|x) = N(mu, diag(exp(logvar))); a
// decoder maps a latent z to the parameters of p(x|z); training maximizes the evidence lower bound
//     ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I))          (eq. 3 of the paper)
// with one reparameterized sample z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) (eq. 4 and 7).
//
// Two architectures: a convolutional one (two stride-2 convolutions down to 7x7 and a mirror of transposed
// convolutions up, in the style of the InfoGAN networks the Two-Stage VAE paper uses) and an MLP. Two
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

enum class Architecture { Conv, Mlp };
enum class Likelihood { Bernoulli, Gaussian };

struct VaeConfig {
  Architecture architecture = Architecture::Conv;
  Likelihood likelihood = Likelihood::Bernoulli;
  int64_t latent = 16;   // dimensions of z
  int64_t hidden = 256;  // width of the fully connected layers

  // "vae-conv-bernoulli", "vae-mlp-gaussian", ...: what checkpoints record to refuse another model.
  std::string kind() const;
  // From flag values ("conv"/"mlp", "bernoulli"/"gaussian"); errors name the flag.
  static VaeConfig from_flags(const std::string& architecture, const std::string& likelihood, int64_t latent,
                              int64_t hidden);
};

class Vae : public nn::Module {
 public:
  // Parameters get PyTorch's default initialization, drawn from init (the default generator when null).
  explicit Vae(const VaeConfig& config, Generator* init = nullptr);

  struct Posterior {
    Tensor mu, logvar;  // [N, latent] each
  };
  Posterior encode(const Tensor& images);  // images [N, 1, 28, 28] in [0, 1]
  Tensor decode(const Tensor& z);          // [N, 1, 28, 28]: logits (Bernoulli) or pre-sigmoid mean (Gaussian)
  // log p(x | z) summed over pixels, one value per example: [N].
  Tensor log_likelihood(const Tensor& images, const Tensor& decoded) const;
  // The image the decoder means, in [0, 1].
  Tensor mean_image(const Tensor& decoded) const;
  const VaeConfig& config() const { return config_; }
  // The Gaussian decoder's scale gamma (undefined for Bernoulli).
  Tensor gamma() const;

 private:
  VaeConfig config_;
  std::shared_ptr<nn::Sequential> encoder_, decoder_;
  Tensor log_gamma_;
};

// z = mu + exp(logvar / 2) * eps with eps from noise (the default generator when null).
Tensor reparameterize(const Vae::Posterior& q, Generator* noise = nullptr);

// The two terms of the negative ELBO for each example, with one posterior sample: [N] each.
struct ElboTerms {
  Tensor reconstruction;  // -log p(x | z)
  Tensor kl;              // KL(q(z|x) || N(0, I)), in closed form
};
ElboTerms negative_elbo_terms(Vae& model, const Tensor& images, Generator* noise = nullptr);

// log p(x) by importance weighting with k posterior samples (Burda, Grosse & Salakhutdinov, "Importance
// Weighted Autoencoders", ICLR 2016, eq. 8): log (1/k) sum_i p(x, z_i) / q(z_i | x). A lower bound on
// log p(x) that tightens as k grows (k = 1 is the ELBO). One value per example: [N].
Tensor importance_weighted_log_likelihood(Vae& model, const Tensor& images, int64_t k, Generator* noise = nullptr);

}  // namespace trifecta::vae
