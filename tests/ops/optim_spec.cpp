// Test specs for the fused optimizer updates (kernels/optim/). run copies the parameter and the state (keeping
// each one's memory layout, so the kernel sees transposed and strided operands), does one step and returns
// the new parameter and state; the reference is the update formula in float64 loops, written from the
// papers' equations in PyTorch's operation order (kernels/optim/optim_ops.h).
#include <cmath>

#include "optim/functional.h"
#include "tests/harness/op_spec.h"

namespace trifecta::testing {
namespace {

const std::vector<DType> kAllFloating = {DType::Float32, DType::Float64, DType::BFloat16, DType::Float16};

// A copy of t over fresh memory with t's strides (not expanded ones: updated operands never are).
Tensor copy_with_layout(const Tensor& t) {
  int64_t extent = 1;
  for (int d = 0; d < t.ndim(); ++d) extent += (t.size(d) - 1) * t.stride(d);
  Tensor out = as_strided(zeros({extent}, t.options()), t.shape(), t.strides(), 0);
  copy_(out, t);
  return out;
}

// ---- SGD: inputs {param, grad[, momentum_buffer]}, params {lr, momentum, dampening, weight_decay, nesterov,
// first_step}; momentum 0 cases have no buffer ----
SgdStepArgs sgd_args(const OpCase& c) {
  SgdStepArgs a;
  a.lr = c.params[0];
  a.momentum = c.params[1];
  a.dampening = c.params[2];
  a.weight_decay = c.params[3];
  a.nesterov = c.params[4] != 0;
  a.first_step = c.params[5] != 0;
  return a;
}

TRIFECTA_OP_SPEC({
    .op = OpId::sgd_step,
    .cases = {{"plain", {{{3, 5}}, {{3, 5}}}, {0.1, 0, 0, 0, 0, 1}},
              {"plain_weight_decay_scalar", {{{}}, {{}}}, {0.1, 0, 0, 0.5, 0, 1}},
              {"momentum_first_step", {{{4, 3}}, {{4, 3}}, {{4, 3}}}, {0.05, 0.9, 0.3, 0, 0, 1}},
              {"momentum_dampening", {{{7}}, {{7}}, {{7}}}, {0.05, 0.9, 0.3, 0, 0, 0}},
              {"nesterov_weight_decay_transposed",
               {{{4, 3}, Domain::Normal, Layout::Transposed}, {{4, 3}, Domain::Normal, Layout::Strided}, {{4, 3}}},
               {0.1, 0.8, 0, 0.01, 1, 0}},
              {"strided_buffer_expanded_grad",
               {{{2, 3, 4}}, {{2, 3, 4}, Domain::Normal, Layout::Expanded}, {{2, 3, 4}, Domain::Normal, Layout::Strided}},
               {0.1, 0.5, 0, 0.1, 0, 0}},
              {"size_one_dims", {{{1, 5, 1}}, {{1, 5, 1}}, {{1, 5, 1}}}, {0.2, 0.9, 0, 0, 1, 0}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const Tensor param = copy_with_layout(in[0]);
      const Tensor buffer = in.size() > 2 ? copy_with_layout(in[2]) : Tensor();
      optim::sgd_step_(param, in[1], buffer, sgd_args(c));
      return buffer.defined() ? TensorList{param, buffer} : TensorList{param};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const SgdStepArgs a = sgd_args(c);
          Ref param = in[0];
          Ref buffer = in.size() > 2 ? in[2] : Ref(in[0].shape);
          for (int64_t i = 0; i < param.numel(); ++i) {
            double g = in[1][i] + a.weight_decay * param[i];
            if (a.momentum != 0) {
              buffer[i] = a.first_step ? g : a.momentum * buffer[i] + (1 - a.dampening) * g;
              g = a.nesterov ? g + a.momentum * buffer[i] : buffer[i];
            }
            param[i] -= a.lr * g;
          }
          return in.size() > 2 ? std::vector<Ref>{param, buffer} : std::vector<Ref>{param};
        },
    .dtypes = kAllFloating,
});

// ---- Adam/AdamW: inputs {param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq]} (AMSGrad with five), params
// {lr, beta1, beta2, eps, weight_decay, decoupled, step} ----
AdamStepArgs adam_args(const OpCase& c) {
  AdamStepArgs a;
  a.lr = c.params[0];
  a.beta1 = c.params[1];
  a.beta2 = c.params[2];
  a.eps = c.params[3];
  a.weight_decay = c.params[4];
  a.decoupled_weight_decay = c.params[5] != 0;
  a.step = static_cast<int64_t>(c.params[6]);
  return a;
}

// v and v_max are positive.
InputSpec second_moment(Shape shape, Layout layout = Layout::Contiguous) { return {shape, Domain::Positive, layout}; }

TRIFECTA_OP_SPEC({
    .op = OpId::adam_step,
    .cases = {{"adam_first_step", {{{3, 5}}, {{3, 5}}, {{3, 5}}, second_moment({3, 5})}, {1e-2, 0.9, 0.999, 1e-8, 0, 0, 1}},
              {"adam_l2_step7_transposed",
               {{{4, 3}, Domain::Normal, Layout::Transposed}, {{4, 3}}, {{4, 3}}, second_moment({4, 3}, Layout::Transposed)},
               {1e-2, 0.9, 0.99, 1e-6, 0.1, 0, 7}},
              {"adamw_strided_state",
               {{{5, 2}}, {{5, 2}, Domain::Normal, Layout::Strided}, {{5, 2}, Domain::Normal, Layout::Strided},
                second_moment({5, 2}, Layout::Strided)},
               {1e-2, 0.9, 0.999, 1e-8, 0.05, 1, 3}},
              {"amsgrad", {{{6}}, {{6}}, {{6}}, second_moment({6}), second_moment({6})}, {1e-2, 0.9, 0.999, 1e-8, 0, 0, 4}},
              {"adamw_amsgrad_expanded_grad",
               {{{2, 3, 2}}, {{2, 3, 2}, Domain::Normal, Layout::Expanded}, {{2, 3, 2}}, second_moment({2, 3, 2}),
                second_moment({2, 3, 2}, Layout::Transposed)},
               {3e-2, 0.8, 0.95, 1e-8, 0.01, 1, 12}},
              {"scalar_beta1_zero", {{{}}, {{}}, {{}}, second_moment({})}, {0.1, 0.0, 0.1, 1e-8, 0, 0, 2}},
              {"size_one_dims", {{{1, 4}}, {{1, 4}}, {{1, 4}}, second_moment({1, 4})}, {1e-3, 0.9, 0.999, 1e-8, 0, 0, 1000}}},
    .run = [](const TensorList& in, const OpCase& c) {
      const Tensor param = copy_with_layout(in[0]);
      const Tensor exp_avg = copy_with_layout(in[2]), exp_avg_sq = copy_with_layout(in[3]);
      const Tensor max_exp_avg_sq = in.size() > 4 ? copy_with_layout(in[4]) : Tensor();
      optim::adam_step_(param, in[1], exp_avg, exp_avg_sq, max_exp_avg_sq, adam_args(c));
      TensorList out = {param, exp_avg, exp_avg_sq};
      if (max_exp_avg_sq.defined()) out.push_back(max_exp_avg_sq);
      return out;
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const AdamStepArgs a = adam_args(c);
          const bool amsgrad = in.size() > 4;
          Ref param = in[0], m = in[2], v = in[3], v_max = amsgrad ? in[4] : Ref(in[0].shape);
          const double t = static_cast<double>(a.step);
          const double step_size = a.lr / (1 - std::pow(a.beta1, t));
          const double bias_correction2_sqrt = std::sqrt(1 - std::pow(a.beta2, t));
          for (int64_t i = 0; i < param.numel(); ++i) {
            double g = in[1][i];
            if (a.decoupled_weight_decay) param[i] *= 1 - a.lr * a.weight_decay;
            else g += a.weight_decay * param[i];
            m[i] = a.beta1 * m[i] + (1 - a.beta1) * g;
            v[i] = a.beta2 * v[i] + (1 - a.beta2) * g * g;
            v_max[i] = std::max(v_max[i], v[i]);
            const double u = amsgrad ? v_max[i] : v[i];
            param[i] -= step_size * m[i] / (std::sqrt(u) / bias_correction2_sqrt + a.eps);
          }
          std::vector<Ref> out = {param, m, v};
          if (amsgrad) out.push_back(v_max);
          return out;
        },
    .dtypes = kAllFloating,
});

// ---- g-SGD, one layer: inputs {weight, grad, row_scale, column_scale, column_factor, skeleton_factor}, params
// {lr, layout (0 First, 1 Hidden, 2 Last), then 0/1 for whether each of the four factors is passed (else
// undefined: all ones)} ----
GsgdLayerStepArgs gsgd_args(const OpCase& c) {
  return {.lr = c.params[0], .skeleton = static_cast<GsgdSkeleton>(static_cast<int>(c.params[1]))};
}

// The factors are products of weights' reciprocals, hence positive here.
InputSpec factor(int64_t n) { return {{n}, Domain::Positive}; }

OpCase gsgd_case(std::string name, Shape shape, GsgdSkeleton layout, std::vector<double> used,
                 Layout weight_layout = Layout::Contiguous, Layout grad_layout = Layout::Contiguous) {
  const int64_t rows = shape[0], columns = shape[1];
  const int64_t units = layout == GsgdSkeleton::Last ? columns : rows;
  std::vector<double> params = {0.1, static_cast<double>(static_cast<int>(layout))};
  params.insert(params.end(), used.begin(), used.end());
  return {name,
          {{shape, Domain::Normal, weight_layout}, {shape, Domain::Normal, grad_layout}, factor(rows), factor(columns),
           factor(columns), factor(units)},
          params};
}

TRIFECTA_OP_SPEC({
    .op = OpId::gsgd_layer_step,
    .cases = {gsgd_case("first_wide", {5, 7}, GsgdSkeleton::First, {1, 0, 0, 1}, Layout::Contiguous, Layout::Transposed),
              gsgd_case("first_more_units_than_inputs", {7, 3}, GsgdSkeleton::First, {1, 0, 0, 1}),
              gsgd_case("hidden_all_factors_transposed", {6, 6}, GsgdSkeleton::Hidden, {1, 1, 1, 1}, Layout::Transposed),
              gsgd_case("hidden_strided_grad", {4, 4}, GsgdSkeleton::Hidden, {1, 1, 1, 0}, Layout::Contiguous,
                        Layout::Strided),
              gsgd_case("last_more_units_than_outputs", {3, 8}, GsgdSkeleton::Last, {0, 1, 1, 0}, Layout::Contiguous,
                        Layout::Expanded),
              gsgd_case("last_fewer_units_than_outputs", {4, 2}, GsgdSkeleton::Last, {0, 1, 1, 0}),
              gsgd_case("one_unit", {1, 1}, GsgdSkeleton::Hidden, {1, 1, 1, 1})},
    .run = [](const TensorList& in, const OpCase& c) {
      const Tensor weight = copy_with_layout(in[0]);
      const auto factor_if_used = [&](size_t k) { return c.params[2 + k] != 0 ? in[2 + k] : Tensor(); };
      optim::gsgd_layer_step_(weight, in[1], factor_if_used(0), factor_if_used(1), factor_if_used(2),
                              factor_if_used(3), gsgd_args(c));
      return TensorList{weight};
    },
    .reference =
        [](const std::vector<Ref>& in, const OpCase& c) {
          const double lr = c.params[0];
          const int layout = static_cast<int>(c.params[1]);
          const auto factor = [&](size_t k, int64_t at) { return c.params[2 + k] != 0 ? in[2 + k][at] : 1.0; };
          Ref weight = in[0];
          const int64_t rows = weight.shape[0], columns = weight.shape[1];
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t a = 0; a < columns; ++a) {
              double& w = weight.at({i, a});
              // Skeleton positions: (j, j mod in) first, (j, j) hidden, (j mod out, j) last.
              const bool skeleton = layout == 0 ? a == i % columns : layout == 1 ? a == i : i == a % rows;
              if (skeleton) {
                w *= factor(3, layout == 2 ? a : i);
                continue;
              }
              w = (w - lr * in[1].at({i, a}) * factor(0, i) * factor(1, a)) * factor(2, a);
            }
          }
          return std::vector<Ref>{weight};
        },
    .dtypes = kAllFloating,
});

// ---- g-SGD's outgoing sums: inputs {weight, grad}, out[a] = sum_i weight[i,a] grad[i,a] ----
TRIFECTA_OP_SPEC({
    .op = OpId::gsgd_outgoing_sums,
    .cases = {{"square", {{{6, 6}}, {{6, 6}}}},
              {"wide_transposed_grad", {{{3, 9}}, {{3, 9}, Domain::Normal, Layout::Transposed}}},
              {"tall_strided_weight", {{{9, 4}, Domain::Normal, Layout::Strided}, {{9, 4}}}},
              {"one_row_expanded_grad", {{{1, 5}}, {{1, 5}, Domain::Normal, Layout::Expanded}}},
              {"one_column", {{{7, 1}}, {{7, 1}}}}},
    .run = [](const TensorList& in, const OpCase&) { return TensorList{optim::gsgd_outgoing_sums(in[0], in[1])}; },
    .reference =
        [](const std::vector<Ref>& in, const OpCase&) {
          const int64_t rows = in[0].shape[0], columns = in[0].shape[1];
          Ref out(Shape{columns});
          for (int64_t a = 0; a < columns; ++a)
            for (int64_t i = 0; i < rows; ++i) out[a] += in[0].at({i, a}) * in[1].at({i, a});
          return std::vector<Ref>{out};
        },
    .dtypes = kAllFloating,
});

}  // namespace
}  // namespace trifecta::testing
