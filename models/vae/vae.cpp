// The VAE networks, their likelihoods and the ELBO / importance-weighted bounds.
#include "models/vae/vae.h"

#include <cmath>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/flatten.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/loss.h"
#include "nn/norm.h"

namespace trifecta::vae {

namespace {

constexpr int64_t kImageSide = 28, kPixels = kImageSide * kImageSide;
constexpr double kLog2Pi = 1.8378770664093453;

// The InfoGAN network's initialization (daib13/TwoStageVAE): every weight from N(0, 0.02^2), biases zero.
template <class Layer, class... Args>
std::shared_ptr<Layer> small_normal(Generator* init, Args&&... args) {
  auto layer = std::make_shared<Layer>(std::forward<Args>(args)..., init);
  nn::init::normal_(layer->weight, 0.0, 0.02, init);
  nn::init::zeros_(layer->bias);
  return layer;
}

// The parameters under the latent discriminator (or, with inside false, all others).
NamedTensors parameters_of_discriminator(const NamedTensors& all, bool inside) {
  const std::string prefix = std::string(Vae::kDiscriminator) + ".";
  NamedTensors kept;
  for (const auto& [name, t] : all)
    if ((name.rfind(prefix, 0) == 0) == inside) kept.emplace_back(name, t);
  return kept;
}

// log N(z; mu, diag(exp(logvar))) summed over the last dim.
Tensor gaussian_log_density(const Tensor& z, const Tensor& mu, const Tensor& logvar) {
  const Tensor squared = div(square(sub(z, mu)), exp(logvar));
  return mul(sum(add(add(squared, logvar), kLog2Pi), {-1}), -0.5);
}

}  // namespace

std::string VaeConfig::kind() const {
  const char* names[] = {"conv", "infogan", "mlp"};
  const std::string network = names[static_cast<int>(architecture)];
  if (objective == Objective::WaeMmd) return "wae-mmd-" + network;
  if (objective == Objective::WaeGan) return "wae-gan-" + network;
  return "vae-" + network + "-" +
         (likelihood == Likelihood::Bernoulli ? "bernoulli" : "gaussian");
}

VaeConfig VaeConfig::from_flags(const std::string& architecture, const std::string& likelihood, int64_t latent,
                                int64_t hidden, const std::string& objective) {
  VaeConfig c;
  TRIFECTA_CHECK(objective == "elbo" || objective == "wae-mmd" || objective == "wae-gan", "vae --objective",
                 "expects elbo, wae-mmd or wae-gan, got '", objective, "'");
  c.objective = objective == "elbo" ? Objective::Elbo : objective == "wae-mmd" ? Objective::WaeMmd : Objective::WaeGan;
  TRIFECTA_CHECK(architecture == "conv" || architecture == "infogan" || architecture == "mlp", "vae --architecture",
                 "expects conv, infogan or mlp, got '", architecture, "'");
  TRIFECTA_CHECK(likelihood == "bernoulli" || likelihood == "gaussian", "vae --likelihood",
                 "expects bernoulli or gaussian, got '", likelihood, "'");
  TRIFECTA_CHECK(latent > 0 && latent <= 4096, "vae --latent", "expects 1..4096, got ", latent);
  TRIFECTA_CHECK(hidden > 0 && hidden <= 65536, "vae --hidden", "expects 1..65536, got ", hidden);
  c.architecture = architecture == "conv"      ? Architecture::Conv
                   : architecture == "infogan" ? Architecture::InfoGan
                                               : Architecture::Mlp;
  // A WAE has no likelihood: its decoder's sigmoid mean is all it uses, and no gamma is learned.
  c.likelihood = likelihood == "gaussian" && c.objective == Objective::Elbo ? Likelihood::Gaussian : Likelihood::Bernoulli;
  c.latent = latent;
  c.hidden = hidden;
  return c;
}

Vae::Vae(const VaeConfig& config, Generator* init) : GaussianVae("Vae"), config_(config) {
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
  } else if (config.architecture == Architecture::InfoGan) {
    build_infogan(init);
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
  // The WAE-GAN's adversary on latent codes: the paper's 4 x 512 ReLU MLP (Tolstikhin et al. 2018, appendix,
  // the MNIST D_Z) to one logit.
  if (config.objective == Objective::WaeGan) {
    discriminator_ = register_module(kDiscriminator, std::make_shared<Sequential>());
    for (int i = 0; i < 4; ++i) {
      discriminator_->push_back(std::make_shared<Linear>(i == 0 ? l : 512, 512, true, init));
      discriminator_->push_back(std::make_shared<ReLU>());
    }
    discriminator_->push_back(std::make_shared<Linear>(512, 1, true, init));
  }
}

Tensor Vae::discriminate(const Tensor& z) {
  TRIFECTA_CHECK(discriminator_ != nullptr, "vae", "only a WAE-GAN has a latent discriminator (", config_.kind(), ")");
  return discriminator_->forward(z);
}

NamedTensors Vae::autoencoder_parameters() const { return parameters_of_discriminator(named_parameters(), false); }

NamedTensors Vae::discriminator_parameters() const { return parameters_of_discriminator(named_parameters(), true); }

void Vae::build_infogan(Generator* init) {
  using namespace nn;
  // The widths are the authors' (1024, 64 and 128 channels); --hidden does not apply.
  const int64_t l = config_.latent;
  const Conv2dOptions down{.stride = 2, .padding = 1};
  const ConvTranspose2dOptions up{.stride = 2, .padding = 1};
  // 1x28x28 -> 64x14x14 -> 128x7x7 -> 1024 -> 2l (mean and the pre-softplus scale).
  encoder_->push_back(small_normal<Conv2d>(init, 1, 64, 4, down));
  encoder_->push_back(std::make_shared<LeakyReLU>(0.2));
  encoder_->push_back(small_normal<Conv2d>(init, 64, 128, 4, down));
  encoder_->push_back(std::make_shared<BatchNorm2d>(128));
  encoder_->push_back(std::make_shared<LeakyReLU>(0.2));
  encoder_->push_back(std::make_shared<Flatten>(1, -1));
  encoder_->push_back(small_normal<Linear>(init, 128 * 7 * 7, 1024, true));
  encoder_->push_back(std::make_shared<BatchNorm1d>(1024));
  encoder_->push_back(std::make_shared<LeakyReLU>(0.2));
  encoder_->push_back(small_normal<Linear>(init, 1024, 2 * l, true));
  // l -> 1024 -> 128x7x7 -> 64x14x14 -> 1x28x28 (pre-sigmoid mean).
  decoder_->push_back(small_normal<Linear>(init, l, 1024, true));
  decoder_->push_back(std::make_shared<BatchNorm1d>(1024));
  decoder_->push_back(std::make_shared<ReLU>());
  decoder_->push_back(small_normal<Linear>(init, 1024, 128 * 7 * 7, true));
  decoder_->push_back(std::make_shared<BatchNorm1d>(128 * 7 * 7));
  decoder_->push_back(std::make_shared<ReLU>());
  decoder_->push_back(std::make_shared<Unflatten>(1, std::vector<int64_t>{128, 7, 7}));
  decoder_->push_back(small_normal<ConvTranspose2d>(init, 128, 64, 4, up));
  decoder_->push_back(std::make_shared<BatchNorm2d>(64));
  decoder_->push_back(std::make_shared<ReLU>());
  decoder_->push_back(small_normal<ConvTranspose2d>(init, 64, 1, 4, up));
}

Vae::Posterior Vae::encode(const Tensor& images) {
  TRIFECTA_CHECK(images.ndim() == 4 && images.size(1) == 1 && images.size(2) == kImageSide &&
                     images.size(3) == kImageSide,
                 "vae", "expects images of shape [N, 1, 28, 28], got ", images.str());
  const Tensor stats = encoder_->forward(images);
  const Tensor mu = stats.narrow(1, 0, config_.latent), scale = stats.narrow(1, config_.latent, config_.latent);
  if (config_.architecture != Architecture::InfoGan) return {mu, scale};
  // The authors' parametrization of the posterior's standard deviation, sigma = softplus(s) + 1e-6 (bounded
  // away from 0, so the KL's -log sigma stays finite as sigma collapses on unused dims), as logvar = 2 log sigma.
  return {mu, mul(log(add(softplus(scale), 1e-6)), 2.0)};
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

Tensor reparameterize(const GaussianVae::Posterior& q, Generator* noise) {
  const Tensor eps = randn(q.mu.shape(), q.mu.options(), noise);
  return add(q.mu, mul(exp(mul(q.logvar, 0.5)), eps));
}

ElboTerms negative_elbo_terms(GaussianVae& model, const Tensor& x, Generator* noise) {
  const GaussianVae::Posterior q = model.encode(x);
  const Tensor decoded = model.decode(reparameterize(q, noise));
  return {neg(model.log_likelihood(x, decoded)), nn::kl_diag_gaussian_standard(q.mu, q.logvar, LossReduction::None)};
}

Tensor importance_weighted_log_likelihood(GaussianVae& model, const Tensor& x, int64_t k, Generator* noise) {
  TRIFECTA_CHECK(k >= 1, "importance_weighted_log_likelihood", "needs k >= 1 samples, got ", k);
  NoGradGuard no_grad;
  const GaussianVae::Posterior q = model.encode(x);
  std::vector<Tensor> log_weights;
  for (int64_t i = 0; i < k; ++i) {
    const Tensor z = reparameterize(q, noise);
    const Tensor log_prior = gaussian_log_density(z, zeros_like(z), zeros_like(z));
    const Tensor log_posterior = gaussian_log_density(z, q.mu, q.logvar);
    const Tensor log_p_x = model.log_likelihood(x, model.decode(z));
    log_weights.push_back(sub(add(log_p_x, log_prior), log_posterior));
  }
  return sub(logsumexp(stack(log_weights, 0), {0}), std::log(static_cast<double>(k)));
}

}  // namespace trifecta::vae
