// The VAE networks, their likelihoods and the ELBO / importance-weighted bounds.
#include "models/vae/vae.h"

#include <cmath>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/loss.h"

namespace trifecta::vae {

namespace {

constexpr int64_t kImageSide = 28, kPixels = kImageSide * kImageSide;
constexpr double kLog2Pi = 1.8378770664093453;

// log N(z; mu, diag(exp(logvar))) summed over the last dim.
Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar) {
  const Tensor squared = div(square(sub(z, mu)), exp(logvar));
  return mul(sum(add(add(squared, logvar), kLog2Pi), {-1}), -0.5);
}

}  // namespace

std::string VaeConfig::kind() const {
  return std::string("vae-") + (architecture == Architecture::Conv ? "conv" : "mlp") + "-" +
         (likelihood == Likelihood::Bernoulli ? "bernoulli" : "gaussian");
}

VaeConfig VaeConfig::from_flags(const std::string& architecture, const std::string& likelihood, int64_t latent,
                                int64_t hidden) {
  VaeConfig c;
  TRIFECTA_CHECK(architecture == "conv" || architecture == "mlp", "vae --architecture",
                 "expects conv or mlp, got '", architecture, "'");
  TRIFECTA_CHECK(likelihood == "bernoulli" || likelihood == "gaussian", "vae --likelihood",
                 "expects bernoulli or gaussian, got '", likelihood, "'");
  TRIFECTA_CHECK(latent > 0 && latent <= 4096, "vae --latent", "expects 1..4096, got ", latent);
  TRIFECTA_CHECK(hidden > 0 && hidden <= 65536, "vae --hidden", "expects 1..65536, got ", hidden);
  c.architecture = architecture == "conv" ? Architecture::Conv : Architecture::Mlp;
  c.likelihood = likelihood == "bernoulli" ? Likelihood::Bernoulli : Likelihood::Gaussian;
  c.latent = latent;
  c.hidden = hidden;
  return c;
}

Vae::Vae(const VaeConfig& config, Generator* init) : nn::Module("Vae"), config_(config) {
  using namespace nn;
  const int64_t h = config.hidden, l = config.latent;
  encoder_ = register_module("enc", std::make_shared<Sequential>());
  decoder_ = register_module("dec", std::make_shared<Sequential>());
  if (config.architecture == Architecture::Conv) {
    // 1x28x28 -> 32x14x14 -> 64x7x7 -> h -> 2l, and back up through the mirror image.
    encoder_->push_back(std::make_shared<Conv2d>(1, 32, 4, Conv2dOptions{.stride = 2, .padding = 1}, init));
    encoder_->push_back(std::make_shared<ReLU>());
    encoder_->push_back(std::make_shared<Conv2d>(32, 64, 4, Conv2dOptions{.stride = 2, .padding = 1}, init));
    encoder_->push_back(std::make_shared<ReLU>());
    encoder_->push_back(std::make_shared<Flatten>(1, -1));
    encoder_->push_back(std::make_shared<Linear>(64 * 7 * 7, h, true, init));
    encoder_->push_back(std::make_shared<ReLU>());
    encoder_->push_back(std::make_shared<Linear>(h, 2 * l, true, init));

    decoder_->push_back(std::make_shared<Linear>(l, h, true, init));
    decoder_->push_back(std::make_shared<ReLU>());
    decoder_->push_back(std::make_shared<Linear>(h, 64 * 7 * 7, true, init));
    decoder_->push_back(std::make_shared<ReLU>());
    decoder_->push_back(std::make_shared<Unflatten>(1, std::vector<int64_t>{64, 7, 7}));
    decoder_->push_back(
        std::make_shared<ConvTranspose2d>(64, 32, 4, ConvTranspose2dOptions{.stride = 2, .padding = 1}, init));
    decoder_->push_back(std::make_shared<ReLU>());
    decoder_->push_back(
        std::make_shared<ConvTranspose2d>(32, 1, 4, ConvTranspose2dOptions{.stride = 2, .padding = 1}, init));
  } else {
    // 784 -> 2h -> h -> 2l, and back.
    encoder_->push_back(std::make_shared<Flatten>(1, -1));
    encoder_->push_back(std::make_shared<Linear>(kPixels, 2 * h, true, init));
    encoder_->push_back(std::make_shared<ReLU>());
    encoder_->push_back(std::make_shared<Linear>(2 * h, h, true, init));
    encoder_->push_back(std::make_shared<ReLU>());
    encoder_->push_back(std::make_shared<Linear>(h, 2 * l, true, init));

    decoder_->push_back(std::make_shared<Linear>(l, h, true, init));
    decoder_->push_back(std::make_shared<ReLU>());
    decoder_->push_back(std::make_shared<Linear>(h, 2 * h, true, init));
    decoder_->push_back(std::make_shared<ReLU>());
    decoder_->push_back(std::make_shared<Linear>(2 * h, kPixels, true, init));
    decoder_->push_back(std::make_shared<Unflatten>(1, std::vector<int64_t>{1, kImageSide, kImageSide}));
  }
  // gamma = exp(log_gamma) starts at 1, as in the Two-Stage VAE's code.
  if (config.likelihood == Likelihood::Gaussian) log_gamma_ = register_parameter("log_gamma", zeros({}));
}

Vae::Posterior Vae::encode(const Tensor& images) {
  TRIFECTA_CHECK(images.ndim() == 4 && images.size(1) == 1 && images.size(2) == kImageSide &&
                     images.size(3) == kImageSide,
                 "vae", "expects images of shape [N, 1, 28, 28], got ", images.str());
  const Tensor stats = encoder_->forward(images);
  return {stats.narrow(1, 0, config_.latent), stats.narrow(1, config_.latent, config_.latent)};
}

Tensor Vae::decode(const Tensor& z) { return decoder_->forward(z); }

Tensor Vae::log_likelihood(const Tensor& images, const Tensor& decoded) const {
  if (config_.likelihood == Likelihood::Bernoulli) {
    // log Bernoulli(x; sigmoid(logits)) = -BCE(logits, x), summed over the pixels of each image.
    const Tensor bce = nn::binary_cross_entropy_with_logits(decoded, images, LossReduction::None);
    return neg(sum(bce, {1, 2, 3}));
  }
  return neg(nn::gaussian_nll(images, sigmoid(decoded), log_gamma_, LossReduction::None));
}

Tensor Vae::mean_image(const Tensor& decoded) const { return sigmoid(decoded); }

Tensor Vae::gamma() const { return log_gamma_.defined() ? exp(log_gamma_) : Tensor(); }

Tensor reparameterize(const Vae::Posterior& q, Generator* noise) {
  const Tensor eps = randn(q.mu.shape(), q.mu.options(), noise);
  return add(q.mu, mul(exp(mul(q.logvar, 0.5)), eps));
}

ElboTerms negative_elbo_terms(Vae& model, const Tensor& images, Generator* noise) {
  const Vae::Posterior q = model.encode(images);
  const Tensor decoded = model.decode(reparameterize(q, noise));
  return {neg(model.log_likelihood(images, decoded)), nn::kl_diag_gaussian_standard(q.mu, q.logvar, LossReduction::None)};
}

Tensor importance_weighted_log_likelihood(Vae& model, const Tensor& images, int64_t k, Generator* noise) {
  TRIFECTA_CHECK(k >= 1, "importance_weighted_log_likelihood", "needs k >= 1 samples, got ", k);
  NoGradGuard no_grad;
  const Vae::Posterior q = model.encode(images);
  std::vector<Tensor> log_weights;
  for (int64_t i = 0; i < k; ++i) {
    const Tensor z = reparameterize(q, noise);
    const Tensor log_prior = gaussian_log_density(z, zeros_like(z), zeros_like(z));
    const Tensor log_posterior = gaussian_log_density(z, q.mu, q.logvar);
    const Tensor log_p_x = model.log_likelihood(images, model.decode(z));
    log_weights.push_back(sub(add(log_p_x, log_prior), log_posterior));
  }
  return sub(logsumexp(stack(log_weights, 0), {0}), std::log(static_cast<double>(k)));
}

}  // namespace trifecta::vae
