// Wasserstein auto-encoders (Tolstikhin, Bousquet, Gelly & Schoelkopf, ICLR 2018) as runs of the vae binary
// (`vae train --objective wae-mmd|wae-gan`). A WAE minimizes a reconstruction cost plus a penalty that
// pulls the aggregate of the encoded codes, q(z) = E_x q(z|x), towards the prior p(z) = N(0, I) (eq. 4),
// instead of the ELBO's per-example KL that pulls every q(z|x) there. With a deterministic encoder (z = the
// encoder's mean, as here) the codes of different images need not overlap, which is why the paper's
// samples are sharper than a VAE's. The cost, as the authors' code (tolstikhin/wae, "l2sq"):
//
//   c(x, y) = 0.05 * ||x - y||^2 summed over pixels, averaged over the batch,
//
// with y = sigmoid(decoder(z)). The penalty is lambda times
//   WAE-MMD (Algorithm 2): the MMD estimate of nn/mmd.h between the batch's codes and as many prior draws;
//   WAE-GAN (Algorithm 1): the non-saturating adversarial loss -log D(z) of a latent discriminator D (the
//   4 x 512 MLP of Vae::discriminate), which is trained in turn to tell prior draws from codes with
//   lambda * [-log D(z_p) - log(1 - D(z_q))], by its own Adam (--disc-lr).
#pragma once

#include "models/common/run_folder.h"
#include "models/vae/train.h"

namespace trifecta::vae {

inline constexpr double kWaeCostScale = 0.05;

// c(x, sigmoid(decoded)) as above: 0-dim.
Tensor wae_reconstruction_cost(const Tensor& images, const Tensor& mean_images);

struct WaeEvaluation {
  double reconstruction;  // the cost above, per image
  double mmd;             // the MMD estimate between test codes and prior draws, averaged over batches of 500
  int64_t images;
};
WaeEvaluation evaluate_wae(Vae& model, const FashionMnist& test, uint64_t seed);

// Trains the WAE config describes (built from flags by the caller, objective wae-mmd or wae-gan) into folder;
// returns the final test reconstruction cost.
double train_wae(Flags& flags, const RunFolder& folder, const VaeConfig& config);

}  // namespace trifecta::vae
