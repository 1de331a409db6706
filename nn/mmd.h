// The maximum mean discrepancy between two samples (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012,
// eq. 3), as the Wasserstein auto-encoder penalizes the distance between its encoded codes and the prior
// (Tolstikhin, Bousquet, Gelly & Schoelkopf, "Wasserstein Auto-Encoders", ICLR 2018, Algorithm 2):
//
//   MMD^2(q, p) = 1/(n(n-1)) sum_{i != j} [k(p_i, p_j) + k(q_i, q_j)] - 2/n^2 sum_{i, j} k(q_i, p_j),
//
// the unbiased estimate on n codes from each side, with the inverse multiquadratic kernel summed over scales
// as the authors' code (tolstikhin/wae, wae.py, mmd_penalty) does:
//
//   k(x, y) = sum_s C_s / (C_s + ||x - y||^2),   C_s = s * 2 d sigma^2,   s in {0.1, 0.2, 0.5, 1, 2, 5, 10},
//
// for codes of d dims and a prior N(0, sigma^2 I). Its heavy tails keep a gradient on codes far from the
// prior's mass, where a Gaussian kernel's vanishes (the paper's section 4). Built from differentiable ops, so
// it trains the encoder by backpropagation.
#pragma once

#include "tensor/tensor.h"

namespace trifecta::nn {

// The scales s of the kernel's C_s = s * 2 d sigma^2.
inline constexpr double kImqScales[] = {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};

// q, p: [n, d] codes (n >= 2) of the two distributions (encoded, and drawn from the prior N(0, prior_variance I)).
// Returns the 0-dim estimate above (which may be slightly negative: it is unbiased).
Tensor mmd_inverse_multiquadratic(const Tensor& q, const Tensor& p, double prior_variance = 1.0);

}  // namespace trifecta::nn
