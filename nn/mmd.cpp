// The unbiased MMD estimate with the multi-scale inverse multiquadratic kernel (nn/mmd.h).
#include "nn/mmd.h"

#include "autograd/ops.h"

namespace trifecta::nn {

namespace {

// ||a_i - b_j||^2 for every pair: [n, m]. Differences rather than |a|^2 + |b|^2 - 2 a.b, so that a point's
// distance to itself is exactly 0 (the diagonal terms below rely on it) and no cancellation loses digits.
Tensor squared_distances(const Tensor& a, const Tensor& b) {
  return sum(square(sub(a.unsqueeze(1), b.unsqueeze(0))), {2});
}

// sum over every entry of sum_s C_s / (C_s + D).
Tensor kernel_sum(const Tensor& squared, double base) {
  Tensor total;
  for (const double scale : kImqScales) {
    const double c = scale * base;
    const Tensor term = sum(mul(reciprocal(add(squared, c)), c));
    total = total.defined() ? add(total, term) : term;
  }
  return total;
}

}  // namespace

Tensor mmd_inverse_multiquadratic(const Tensor& q, const Tensor& p, double prior_variance) {
  const char* name = "mmd_inverse_multiquadratic";
  TRIFECTA_CHECK(q.defined() && p.defined(), name, "undefined input");
  TRIFECTA_CHECK(q.ndim() == 2 && q.shape() == p.shape(), name, "expects q and p of one shape [n, d], got ", q.str(),
                 " and ", p.str());
  TRIFECTA_CHECK(q.size(0) >= 2, name, "the unbiased estimate needs n >= 2 codes per side, got ", q.size(0));
  TRIFECTA_CHECK(q.dtype() == p.dtype() && q.device() == p.device(), name, "q ", q.str(), " and p ", p.str(),
                 " must have one dtype and device");
  TRIFECTA_CHECK(prior_variance > 0, name, "prior_variance must be positive, got ", prior_variance);
  const double n = static_cast<double>(q.size(0));
  const double base = 2.0 * static_cast<double>(q.size(1)) * prior_variance;
  // k(x, x) = sum_s C_s / C_s = one per scale: the diagonal's sum, n * |scales|, leaves the off-diagonal one.
  const double diagonal = n * static_cast<double>(std::size(kImqScales));
  const Tensor within = sub(add(kernel_sum(squared_distances(p, p), base), kernel_sum(squared_distances(q, q), base)),
                           2.0 * diagonal);
  const Tensor across = kernel_sum(squared_distances(q, p), base);
  return sub(mul(within, 1.0 / (n * (n - 1.0))), mul(across, 2.0 / (n * n)));
}

}  // namespace trifecta::nn
