// Weight initializers: gains, fans, and the draws behind torch.nn.init's formulas.
#include "nn/init.h"

#include <cmath>

#include "autograd/ops.h"

namespace trifecta::nn::init {

double calculate_gain(Nonlinearity nonlinearity, std::optional<double> param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      const double slope = param.value_or(0.01);
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    // Klambauer et al. 2017 normalize SELU networks with gain 1; PyTorch uses 3/4 to keep linear and SELU
    // layers' gradients of a similar size, and so do we.
    case Nonlinearity::SELU: return 0.75;
  }
  TRIFECTA_FAIL("calculate_gain", "unknown nonlinearity");
}

Fans calculate_fan_in_and_fan_out(const Tensor& weight) {
  TRIFECTA_CHECK(weight.defined(), "calculate_fan_in_and_fan_out", "undefined tensor");
  TRIFECTA_CHECK(weight.ndim() >= 2, "calculate_fan_in_and_fan_out",
                 "fan in and fan out need a tensor of at least 2 dims, got ", weight.str());
  int64_t receptive_field = 1;
  for (int d = 2; d < weight.ndim(); ++d) receptive_field *= weight.size(d);
  return {weight.size(1) * receptive_field, weight.size(0) * receptive_field};
}

namespace {

// Initializers write parameters in place: like torch.nn.init, they run outside autograd.
template <class Fill>
void write(const char* op, const Tensor& t, const Fill& fill) {
  TRIFECTA_CHECK(t.defined(), op, "undefined tensor");
  TRIFECTA_CHECK(is_floating(t.dtype()), op, "needs a floating tensor, got ", t.str());
  NoGradGuard no_grad;
  fill();
}

// Both fans are positive for a tensor with elements (each is numel over one dim's size).
double kaiming_std(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity) {
  const Fans fans = calculate_fan_in_and_fan_out(t);
  const int64_t fan = mode == FanMode::FanIn ? fans.fan_in : fans.fan_out;
  return calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan));
}

double xavier_std(const Tensor& t, double gain) {
  const Fans fans = calculate_fan_in_and_fan_out(t);
  return gain * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out));
}

}  // namespace

void uniform_(const Tensor& t, double low, double high, Generator* generator) {
  write("init::uniform_", t, [&] { trifecta::uniform_(t, low, high, generator); });
}

void normal_(const Tensor& t, double mean, double std, Generator* generator) {
  write("init::normal_", t, [&] { trifecta::normal_(t, mean, std, generator); });
}

void constant_(const Tensor& t, double value) {
  write("init::constant_", t, [&] { fill_(t, value); });
}

void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

// A tensor with no elements has nothing to draw (PyTorch warns and returns); its fans may be 0, so the
// formulas below are only evaluated for tensors with elements.
void xavier_uniform_(const Tensor& t, double gain, Generator* generator) {
  if (t.defined() && t.numel() == 0) return;
  const double bound = std::sqrt(3.0) * xavier_std(t, gain);
  init::uniform_(t, -bound, bound, generator);
}

void xavier_normal_(const Tensor& t, double gain, Generator* generator) {
  if (t.defined() && t.numel() == 0) return;
  init::normal_(t, 0.0, xavier_std(t, gain), generator);
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* generator) {
  if (t.defined() && t.numel() == 0) return;
  const double bound = std::sqrt(3.0) * kaiming_std(t, a, mode, nonlinearity);
  init::uniform_(t, -bound, bound, generator);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* generator) {
  if (t.defined() && t.numel() == 0) return;
  init::normal_(t, 0.0, kaiming_std(t, a, mode, nonlinearity), generator);
}

void default_affine_init_(const Tensor& weight, const Tensor& bias, Generator* generator) {
  // With a = sqrt(5) the leaky-ReLU gain is sqrt(2 / 6), so the bound sqrt(3) * gain / sqrt(fan_in) is
  // exactly 1 / sqrt(fan_in): PyTorch's historical default, kept so models start where PyTorch's do.
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyReLU, generator);
  if (!bias.defined()) return;
  const int64_t fan_in = calculate_fan_in_and_fan_out(weight).fan_in;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  init::uniform_(bias, -bound, bound, generator);
}

}  // namespace trifecta::nn::init
