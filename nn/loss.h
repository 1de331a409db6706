// Loss functions for training: regression, binary and multi-class classification, and the two terms of a
// VAE's objective (a Gaussian decoder likelihood with a learned scale, and the KL divergence of a diagonal
// Gaussian posterior from the standard normal prior), and the hinge losses of adversarial training. Each
// differentiates through trifecta's ops.
//
// Reductions: the elementwise losses (mse_loss, binary_cross_entropy_with_logits) and cross_entropy reduce
// over elements (Mean divides by their count, as PyTorch's); the per-example losses (gaussian_nll,
// kl_diag_gaussian_standard) first sum each example's dims (dim 0 indexes examples), then reduce over
// examples: Mean is the batch average of per-example sums, None returns one value per example.
#pragma once

#include <cstdint>

#include "autograd/ops/loss.h"
#include "tensor/tensor.h"

namespace trifecta::nn {

// (input - target)^2 elementwise; input and target have one shape.
Tensor mse_loss(const Tensor& input, const Tensor& target, LossReduction reduction = LossReduction::Mean);

// -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] elementwise, for logits x and targets y in [0, 1] of one
// shape, in the form that neither overflows nor loses precision for large |x| (see loss.cpp).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        LossReduction reduction = LossReduction::Mean);

// Softmax cross-entropy of logits [N, C] or [C] against int64 class targets [N] or [], and PyTorch's
// K-dimensional form: logits [N, C, d1, ..., dk] against targets [N, d1, ..., dk] (None then returns
// [N, d1, ..., dk]). label_smoothing and ignore_index as the fused op in autograd/ops/loss.h. Call it as
// nn::cross_entropy: unqualified, argument-dependent lookup also finds the op trifecta::cross_entropy.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, LossReduction reduction = LossReduction::Mean,
                     double label_smoothing = 0.0, int64_t ignore_index = -100);

// The negative log-likelihood of x under N(mean, gamma^2 I) with gamma = exp(log_gamma) a learned scale
// (Dai & Wipf 2019, "Diagnosing and Enhancing VAE Models", section 4, the Two-Stage VAE's decoder): per
// example i, over its d dims,
//     -log p(x_i | z_i) = sum_j [(x_ij - mean_ij)^2 / (2 gamma^2) + log gamma + log(2 pi) / 2].
// x and mean have one shape [N, ...]; log_gamma broadcasts to it (a 0-dim tensor for one shared gamma).
// Learning gamma lets the decoder's variance shrink as the reconstructions sharpen, which the paper shows
// is needed for the VAE to find the data's manifold.
Tensor gaussian_nll(const Tensor& x, const Tensor& mean, const Tensor& log_gamma,
                    LossReduction reduction = LossReduction::Mean);

// KL(N(mu, diag(exp(logvar))) || N(0, I)) per example i (Kingma & Welling 2014, "Auto-Encoding Variational
// Bayes", appendix B):
//     KL_i = 1/2 sum_j (mu_ij^2 + exp(logvar_ij) - 1 - logvar_ij).
// mu and logvar have one shape [N, ...].
Tensor kl_diag_gaussian_standard(const Tensor& mu, const Tensor& logvar,
                                 LossReduction reduction = LossReduction::Mean);

// The hinge losses of a GAN (Lim & Ye 2017, "Geometric GAN"; the form Miyato et al. 2018, "Spectral
// Normalization for Generative Adversarial Networks", train SN-GAN with), on the discriminator's raw scores:
//     L_D = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))
//     L_G = -mean(D(G(z)))
// Each mean is over its own scores (any shape, at least one element), so real and fake batches may differ
// in size. The discriminator is pushed to score real images above 1 and fakes below -1 and gets no
// gradient from those already past the margin; the generator raises its fakes' scores without a margin.
Tensor hinge_discriminator_loss(const Tensor& real_scores, const Tensor& fake_scores);
Tensor hinge_generator_loss(const Tensor& fake_scores);

}  // namespace trifecta::nn
