// g-SGD (optim/gsgd.h) on small ReLU MLPs: its defining invariance (a rescaled start gives the same network
// function step by step, where SGD's differs), the basis-path gradient of the inverse chain rule against
// finite differences along each basis path in float64, one step moving every basis-path value by exactly
// -lr dL/dv, a tiny step decreasing the loss, the refusals (unequal widths, a non-ReLU chain, ...), the state
// dict and an exact resume, and CUDA against the CPU.
//
// The references here are written independently of the optimizer: skeleton positions, skeleton products and
// the perturbation of one basis path are host loops over float64 copies of the weights.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/activation.h"
#include "nn/flatten.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "optim/gsgd.h"
#include "optim/sgd.h"
#include "tests/harness/expect_error.h"

namespace trifecta::testing {
namespace {

using optim::GSGD;
using optim::GsgdOptions;

// A ReLU MLP inputs -> hidden x hidden_layers -> outputs, with its Linear layers in order.
struct Mlp {
  std::shared_ptr<nn::Sequential> net = std::make_shared<nn::Sequential>();
  std::vector<nn::Linear*> chain;
};

Mlp make_mlp(int64_t inputs, int64_t hidden, int64_t outputs, int hidden_layers, DType dtype, uint64_t seed,
             bool bias = true) {
  Generator generator(seed);
  Mlp m;
  int64_t width = inputs;
  for (int k = 0; k <= hidden_layers; ++k) {
    const int64_t out = k == hidden_layers ? outputs : hidden;
    m.chain.push_back(m.net->push_back(std::make_shared<nn::Linear>(width, out, bias, &generator)).get());
    if (k < hidden_layers) m.net->push_back(std::make_shared<nn::ReLU>());
    width = out;
  }
  m.net->to(dtype);
  return m;
}

struct Batch {
  Tensor x, y;
};

Batch make_batch(int64_t n, int64_t inputs, int64_t classes, DType dtype, uint64_t seed) {
  Generator generator(seed);
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = (i * 7 + static_cast<int64_t>(seed)) % classes;
  return {randn({n, inputs}, {dtype}, &generator), from_vector(labels, Shape{n})};
}

Tensor loss_of(const Mlp& m, const Batch& b) { return cross_entropy(m.net->forward(b.x), b.y); }

void compute_gradients(const Mlp& m, const Batch& b) {
  m.net->zero_grad();
  loss_of(m, b).backward();
}

double max_abs_difference(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double worst = 0.0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::fabs(x[i] - y[i]));
  return worst;
}

double max_abs(const Tensor& a) {
  double worst = 0.0;
  for (double v : a.to_vector<double>()) worst = std::max(worst, std::fabs(v));
  return worst;
}

Tensor output_of(const Mlp& m, const Tensor& x) {
  NoGradGuard no_grad;
  return m.net->forward(x);
}

// Multiplies hidden unit j of hidden layer k by c (its incoming weights and bias) and divides its outgoing
// weights by c: the positive rescaling under which a ReLU network's function is invariant.
void rescale_hidden_units(const Mlp& m, uint64_t seed) {
  NoGradGuard no_grad;
  Generator generator(seed);
  for (size_t k = 0; k + 1 < m.chain.size(); ++k) {
    nn::Linear& in = *m.chain[k];
    nn::Linear& out = *m.chain[k + 1];
    const Tensor c = uniform({in.out_features}, 0.1, 10.0, {in.weight.dtype()}, &generator);
    copy_(in.weight, mul(in.weight, c.unsqueeze(1)));
    if (in.bias.defined()) copy_(in.bias, mul(in.bias, c));
    copy_(out.weight, div(out.weight, c.unsqueeze(0)));
  }
}

// ---- The reference basis paths: host copies of the weights, skeleton positions and products ----
struct HostChain {
  std::vector<std::vector<double>> w, b;  // per layer, row-major [out, in]
  std::vector<int64_t> rows, columns;
  int64_t h = 0;

  explicit HostChain(const Mlp& m) {
    for (nn::Linear* layer : m.chain) {
      w.push_back(layer->weight.to_vector<double>());
      b.push_back(layer->bias.defined() ? layer->bias.to_vector<double>() : std::vector<double>());
      rows.push_back(layer->out_features);
      columns.push_back(layer->in_features);
    }
    h = rows[0];
  }
  size_t layers() const { return w.size(); }
  double& at(size_t k, int64_t i, int64_t a) { return w[k][static_cast<size_t>(i * columns[k] + a)]; }
  // The skeleton weight of hidden unit j in layer k: (j, j mod in) first, (j, j) hidden, (j mod out, j) last.
  std::pair<int64_t, int64_t> skeleton(size_t k, int64_t j) const {
    if (k == 0) return {j, j % columns[0]};
    if (k + 1 == layers()) return {j % rows[k], j};
    return {j, j};
  }
  bool is_skeleton(size_t k, int64_t i, int64_t a) const {
    const int64_t j = k + 1 == layers() ? a : i;
    return j < h && skeleton(k, j) == std::make_pair(i, a);
  }
  double skeleton_weight(size_t k, int64_t j) {
    const auto [i, a] = skeleton(k, j);
    return at(k, i, a);
  }
  // Product of unit j's skeleton weights in layers 0..k (D after layer k), and in layers k+1.. (U).
  double down(size_t k, int64_t j) {
    double p = 1.0;
    for (size_t l = 0; l <= k; ++l) p *= skeleton_weight(l, j);
    return p;
  }
  double up(size_t k, int64_t j) {
    double p = 1.0;
    for (size_t l = k + 1; l < layers(); ++l) p *= skeleton_weight(l, j);
    return p;
  }
  // D of the source and U of the target of weight (i, a) in layer k (1 for inputs and outputs).
  double below(size_t k, int64_t a) { return k == 0 ? 1.0 : down(k - 1, a); }
  double above(size_t k, int64_t i) { return k + 1 == layers() ? 1.0 : up(k, i); }

  void write(const Mlp& m) const {
    NoGradGuard no_grad;
    for (size_t k = 0; k < layers(); ++k) {
      nn::Linear& layer = *m.chain[k];
      copy_(layer.weight, from_vector(w[k], layer.weight.shape()));
      if (!b[k].empty()) copy_(layer.bias, from_vector(b[k], layer.bias.shape()));
    }
  }
};

// One basis path, named as LayerPaths names it: a weight entry (i, a) of layer k, or a bias entry i.
struct PathName {
  size_t k;
  bool bias;
  int64_t i, a;
};

std::vector<PathName> all_paths(const HostChain& c) {
  std::vector<PathName> names;
  for (size_t k = 0; k < c.layers(); ++k) {
    for (int64_t i = 0; i < c.rows[k]; ++i) {
      for (int64_t a = 0; a < c.columns[k]; ++a)
        if (!c.is_skeleton(k, i, a) || k == 0) names.push_back({k, false, i, a});
      if (!c.b[k].empty()) names.push_back({k, true, i, 0});
    }
  }
  return names;
}

// Moves basis path p's value by eps and no other basis path's: a non-skeleton weight (or bias) by
// eps / (D U), a skeleton path s_j by scaling its first-layer weight by 1 + eps / s_j and every non-skeleton
// weight leaving unit j above the first layer by the inverse (their paths run through that weight).
void move_path(HostChain& c, const PathName& p, double eps) {
  if (p.bias) {
    c.b[p.k][static_cast<size_t>(p.i)] += eps / c.above(p.k, p.i);
    return;
  }
  if (!c.is_skeleton(p.k, p.i, p.a)) {
    c.at(p.k, p.i, p.a) += eps / (c.below(p.k, p.a) * c.above(p.k, p.i));
    return;
  }
  const int64_t j = p.i;
  const double ratio = 1.0 + eps / c.down(c.layers() - 1, j);
  c.at(0, p.i, p.a) *= ratio;
  for (size_t k = 1; k < c.layers(); ++k)
    for (int64_t i = 0; i < c.rows[k]; ++i)
      if (!c.is_skeleton(k, i, j)) c.at(k, i, j) /= ratio;
}

double entry(const optim::LayerPaths& paths, const PathName& p) {
  const Tensor& t = p.bias ? paths.bias : paths.weight;
  const std::vector<double> v = t.to_vector<double>();
  return v[static_cast<size_t>(p.bias ? p.i : p.i * t.size(1) + p.a)];
}

// ---- (1) Invariance ----

TEST(Gsgd, RescaledStartGivesTheSameFunctionStepByStepWhereSgdDoesNot) {
  const int64_t inputs = 6, hidden = 5, outputs = 3;
  const Tensor probe = randn({16, inputs}, {DType::Float64});
  // lr per optimizer: each moves the function clearly within the steps (checked below).
  for (const bool use_gsgd : {true, false}) {
    SCOPED_TRACE(use_gsgd ? "g-SGD" : "SGD");
    Mlp a = make_mlp(inputs, hidden, outputs, 2, DType::Float64, 11);
    Mlp b = make_mlp(inputs, hidden, outputs, 2, DType::Float64, 11);
    rescale_hidden_units(b, 99);
    const Tensor start = output_of(a, probe);
    // The rescaled network computes the same function, to rounding.
    ASSERT_LE(max_abs_difference(start, output_of(b, probe)), 1e-12 * max_abs(start));
    auto make = [&](Mlp& m) -> std::unique_ptr<optim::Optimizer> {
      if (use_gsgd) return std::make_unique<GSGD>(m.chain, GsgdOptions{.lr = 2e-4});
      return std::make_unique<optim::SGD>(m.net->parameters(), optim::SgdOptions{.lr = 0.2});
    };
    std::unique_ptr<optim::Optimizer> opt_a = make(a), opt_b = make(b);
    double worst_gap = 0.0;
    for (int step = 0; step < 6; ++step) {
      const Batch batch = make_batch(12, inputs, outputs, DType::Float64, 100 + static_cast<uint64_t>(step));
      compute_gradients(a, batch);
      compute_gradients(b, batch);
      opt_a->step();
      opt_b->step();
      const Tensor out_a = output_of(a, probe), out_b = output_of(b, probe);
      const double gap = max_abs_difference(out_a, out_b) / max_abs(out_a);
      worst_gap = std::max(worst_gap, gap);
      if (use_gsgd) {
        EXPECT_LE(gap, 1e-9) << "after step " << step + 1;
      }
    }
    // Both trajectories moved the function: the comparison above is not between two untouched networks.
    EXPECT_GT(max_abs_difference(output_of(a, probe), start), 0.05 * max_abs(start));
    if (!use_gsgd) {
      EXPECT_GT(worst_gap, 1e-2) << "SGD from a rescaled start should follow another trajectory";
    }
  }
}

TEST(Gsgd, BasisPathValuesAreInvariantToRescaling) {
  Mlp a = make_mlp(5, 4, 3, 3, DType::Float64, 3);
  Mlp b = make_mlp(5, 4, 3, 3, DType::Float64, 3);
  rescale_hidden_units(b, 5);
  const std::vector<optim::LayerPaths> va = GSGD(a.chain).basis_path_values(), vb = GSGD(b.chain).basis_path_values();
  for (size_t k = 0; k < va.size(); ++k) {
    EXPECT_LE(max_abs_difference(va[k].weight, vb[k].weight), 1e-12 * max_abs(va[k].weight)) << "layer " << k;
    EXPECT_LE(max_abs_difference(va[k].bias, vb[k].bias), 1e-12 * max_abs(va[k].bias)) << "layer " << k;
  }
  // And the values are what the reference says: D W U per non-skeleton weight, the skeleton path's product.
  HostChain c(a);
  for (const PathName& p : all_paths(c)) {
    double expected = 0.0;
    if (p.bias) expected = c.b[p.k][static_cast<size_t>(p.i)] * c.above(p.k, p.i);
    else if (c.is_skeleton(p.k, p.i, p.a)) expected = c.down(c.layers() - 1, p.i);
    else expected = c.below(p.k, p.a) * c.at(p.k, p.i, p.a) * c.above(p.k, p.i);
    EXPECT_NEAR(entry(va[p.k], p), expected, 1e-14 + 1e-12 * std::fabs(expected));
  }
}

// ---- (2) The inverse chain rule against finite differences along each basis path ----

void check_path_gradient_by_finite_differences(int64_t inputs, int64_t hidden, int64_t outputs, int hidden_layers,
                                               bool bias) {
  Mlp m = make_mlp(inputs, hidden, outputs, hidden_layers, DType::Float64, 21, bias);
  const Batch batch = make_batch(7, inputs, outputs, DType::Float64, 8);
  compute_gradients(m, batch);
  GSGD gsgd(m.chain);
  const std::vector<optim::LayerPaths> gradient = gsgd.basis_path_gradient();
  const std::vector<optim::LayerPaths> values = gsgd.basis_path_values();
  const HostChain original(m);
  int checked = 0;
  for (const PathName& p : all_paths(original)) {
    const double v = std::fabs(entry(values[p.k], p));
    const double eps = 1e-6 * std::max(v, 1e-3);
    double loss[2];
    for (int side = 0; side < 2; ++side) {
      HostChain moved = original;
      move_path(moved, p, side == 0 ? eps : -eps);
      moved.write(m);
      NoGradGuard no_grad;
      loss[side] = loss_of(m, batch).item<double>();
    }
    original.write(m);
    const double numeric = (loss[0] - loss[1]) / (2 * eps);
    const double analytic = entry(gradient[p.k], p);
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::fabs(numeric)))
        << "layer " << p.k << (p.bias ? " bias " : " weight ") << p.i << "," << p.a;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(all_paths(original).size()));
  // Skeleton entries of layers above the first name no path: zero there.
  HostChain c(m);
  for (size_t k = 1; k < c.layers(); ++k)
    for (int64_t j = 0; j < c.h; ++j) {
      const auto [i, a] = c.skeleton(k, j);
      EXPECT_EQ(entry(gradient[k], {k, false, i, a}), 0.0);
    }
}

TEST(Gsgd, BasisPathGradientMatchesFiniteDifferencesInFloat64) {
  check_path_gradient_by_finite_differences(4, 3, 2, 2, true);   // fewer units than inputs, more than outputs
  check_path_gradient_by_finite_differences(2, 3, 4, 1, true);   // more units than inputs, fewer than outputs
  check_path_gradient_by_finite_differences(5, 4, 3, 3, false);  // deeper, no biases
}

// The number of basis paths is m - H (Meng et al., the dimension of the G-space): every weight but one skeleton
// weight per hidden unit and layer above the first, plus the biases.
TEST(Gsgd, CountsMMinusHBasisPaths) {
  Mlp m = make_mlp(6, 4, 3, 2, DType::Float64, 1, false);
  const HostChain c(m);
  const int64_t weights = 6 * 4 + 4 * 4 + 4 * 3, hidden_units = 2 * 4;
  EXPECT_EQ(static_cast<int64_t>(all_paths(c).size()), weights - hidden_units);
}

// ---- One step is SGD on the basis-path values ----

TEST(Gsgd, OneStepMovesEveryBasisPathValueByMinusLrTimesItsGradient) {
  Mlp m = make_mlp(5, 4, 3, 2, DType::Float64, 31);
  const Batch batch = make_batch(9, 5, 3, DType::Float64, 2);
  compute_gradients(m, batch);
  const double lr = 1e-3;
  GSGD gsgd(m.chain, {.lr = lr});
  const std::vector<optim::LayerPaths> before = gsgd.basis_path_values(), gradient = gsgd.basis_path_gradient();
  gsgd.step();
  const std::vector<optim::LayerPaths> after = gsgd.basis_path_values();
  for (const PathName& p : all_paths(HostChain(m))) {
    const double expected = entry(before[p.k], p) - lr * entry(gradient[p.k], p);
    EXPECT_NEAR(entry(after[p.k], p), expected, 1e-12 * std::max(1.0, std::fabs(expected)))
        << "layer " << p.k << (p.bias ? " bias " : " weight ") << p.i << "," << p.a;
  }
  // The skeleton weights above the first layer stay (the allocation puts each skeleton path's step on its
  // first-layer weight).
  Mlp fresh = make_mlp(5, 4, 3, 2, DType::Float64, 31);
  HostChain now(m), start(fresh);
  for (size_t k = 1; k < now.layers(); ++k)
    for (int64_t j = 0; j < now.h; ++j) EXPECT_EQ(now.skeleton_weight(k, j), start.skeleton_weight(k, j));
}

// ---- (3) A tiny step decreases the loss ----

// "Tiny" relative to the network: g-SGD's step on a weight is lr dL/dW / (D U)^2, and skeleton products of a
// default-initialized MLP are small, so a learning rate that is tiny for SGD is not for g-SGD. The rate is
// chosen so that the first-order predicted decrease lr |dL/dv|^2 is 1e-3 of the loss; the measured decrease
// must be positive and close to that prediction.
TEST(Gsgd, TinyStepDecreasesTheLoss) {
  for (const DType dtype : {DType::Float64, DType::Float32}) {
    SCOPED_TRACE(dtype_name(dtype));
    Mlp m = make_mlp(20, 16, 5, 2, dtype, 41);
    const Batch batch = make_batch(32, 20, 5, dtype, 3);
    compute_gradients(m, batch);
    GSGD probe(m.chain);
    double squared_norm = 0.0;
    for (const optim::LayerPaths& layer : probe.basis_path_gradient())
      for (const Tensor& t : {layer.weight, layer.bias})
        for (double g : t.to_vector<double>()) squared_norm += g * g;
    const double before = loss_of(m, batch).item<double>();
    const double lr = 1e-3 * before / squared_norm;
    GSGD gsgd(m.chain, {.lr = lr});
    gsgd.step();
    const double after = loss_of(m, batch).item<double>();
    const double predicted = lr * squared_norm;
    EXPECT_LT(after, before);
    EXPECT_NEAR(before - after, predicted, 0.2 * predicted);
  }
}

// ---- Refusals ----

TEST(Gsgd, RefusesWhatThePaperDoesNotSupport) {
  {
    Generator g(1);
    nn::Linear a(4, 5, true, &g), b(5, 6, true, &g), c(6, 2, true, &g);
    expect_error([&] { GSGD({&a, &b, &c}); }, "hidden layer 1 has 6 units but hidden layer 0 has 5");
    expect_error([&] { GSGD({&a, &c}); }, "layer 1 takes 6 inputs but layer 0 gives 5");
    expect_error([&] { GSGD({&a}); }, "g-SGD needs at least one hidden layer");
    expect_error([&] { GSGD({&a, &b, nullptr}); }, "layer 2 of the chain is null");
  }
  {
    nn::Sequential tanh_net{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Tanh>(),
                            std::make_shared<nn::Linear>(4, 2)};
    expect_error([&] { GSGD::relu_chain(tanh_net); }, "layer 1 of the Sequential is a Tanh where a ReLU should be");
    nn::Sequential ends_with_relu{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::ReLU>()};
    expect_error([&] { GSGD::relu_chain(ends_with_relu); }, "must end with a Linear layer");
    nn::Sequential two_linears{std::make_shared<nn::Linear>(3, 4), std::make_shared<nn::Linear>(4, 2)};
    expect_error([&] { GSGD::relu_chain(two_linears); },
                 "layer 1 of the Sequential is a Linear where a ReLU should be");
    nn::Sequential mlp{std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(3, 4),
                       std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(4, 2)};
    EXPECT_EQ(GSGD::relu_chain(mlp).size(), 2u);
  }
  {
    Mlp m = make_mlp(3, 4, 2, 1, DType::Float32, 2);
    {
      NoGradGuard no_grad;
      fill_(m.chain[1]->weight.select(0, 1).narrow(0, 1, 1), 0.0);  // the last layer's skeleton weight of unit 1
    }
    expect_error([&] { GSGD(m.chain); }, "the skeleton weight of hidden unit 1 in layer 1 is 0");
  }
  {
    Mlp m = make_mlp(3, 4, 2, 1, DType::Float16, 2);
    expect_error([&] { GSGD(m.chain); }, "use float32 or float64");
  }
  {
    Mlp m = make_mlp(3, 4, 2, 1, DType::Float32, 2);
    GSGD gsgd(m.chain);
    const Batch batch = make_batch(4, 3, 2, DType::Float32, 1);
    m.chain[0]->weight.requires_grad_(false);
    compute_gradients(m, batch);
    expect_error([&] { gsgd.step(); }, "a parameter of layer 0 has no gradient");
    expect_error([&] { GSGD(m.chain, {.lr = -1.0}); }, "Invalid learning rate: -1");
  }
}

// ---- State dict: an exact resume, and a state refused by another chain ----

TEST(Gsgd, StateDictResumesExactlyAndRefusesAnotherChain) {
  Mlp a = make_mlp(5, 4, 3, 2, DType::Float32, 51);
  GSGD gsgd(a.chain, {.lr = 1e-4});
  for (int step = 0; step < 2; ++step) {
    compute_gradients(a, make_batch(8, 5, 3, DType::Float32, static_cast<uint64_t>(step)));
    gsgd.step();
  }
  gsgd.set_lr(5e-5);
  // Resume: a fresh optimizer over a copy of the network, loaded from the state, then both take a step.
  Mlp b = make_mlp(5, 4, 3, 2, DType::Float32, 0);
  b.net->load_state_dict(a.net->state_dict());
  GSGD resumed(b.chain, {.lr = 1.0});
  resumed.load_state_dict(gsgd.state_dict());
  EXPECT_EQ(resumed.step_count(), 2);
  EXPECT_EQ(resumed.lr(), 5e-5);
  const Batch batch = make_batch(8, 5, 3, DType::Float32, 7);
  compute_gradients(a, batch);
  compute_gradients(b, batch);
  gsgd.step();
  resumed.step();
  for (size_t k = 0; k < a.chain.size(); ++k) {
    EXPECT_EQ(a.chain[k]->weight.to_vector<float>(), b.chain[k]->weight.to_vector<float>()) << "layer " << k;
    EXPECT_EQ(a.chain[k]->bias.to_vector<float>(), b.chain[k]->bias.to_vector<float>()) << "layer " << k;
  }

  Mlp wider = make_mlp(5, 6, 3, 2, DType::Float32, 0);
  expect_error([&] { GSGD(wider.chain).load_state_dict(gsgd.state_dict()); },
               "saved for a chain with hidden_width = 4 but this GSGD's chain has 6");
  Mlp deeper = make_mlp(5, 4, 3, 3, DType::Float32, 0);
  expect_error([&] { GSGD(deeper.chain).load_state_dict(gsgd.state_dict()); },
               "chain_layers = 3 but this GSGD's chain has 4");
  NamedTensors with_decay = gsgd.state_dict();
  for (auto& [name, t] : with_decay)
    if (name == "param_groups.0.weight_decay") t = from_vector<double>({0.1}, Shape{});
  expect_error([&] { resumed.load_state_dict(with_decay); }, "g-SGD has no weight decay");
  NamedTensors sgd_state = optim::SGD(a.net->parameters()).state_dict();
  expect_error([&] { resumed.load_state_dict(sgd_state); }, "the state is from a SGD optimizer, not GSGD");
}

// ---- CUDA against the CPU ----

TEST(Gsgd, CudaStepsMatchTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA g-SGD step runs on a GPU machine";
  Mlp cpu = make_mlp(30, 17, 7, 2, DType::Float32, 61);
  Mlp gpu = make_mlp(30, 17, 7, 2, DType::Float32, 61);
  const Device cuda(DeviceType::CUDA, 0);
  gpu.net->to(cuda);
  GSGD on_cpu(cpu.chain, {.lr = 1e-4}), on_gpu(gpu.chain, {.lr = 1e-4});
  for (int step = 0; step < 3; ++step) {
    const Batch batch = make_batch(16, 30, 7, DType::Float32, static_cast<uint64_t>(step));
    compute_gradients(cpu, batch);
    compute_gradients(gpu, Batch{batch.x.to(cuda), batch.y.to(cuda)});
    on_cpu.step();
    on_gpu.step();
  }
  for (size_t k = 0; k < cpu.chain.size(); ++k) {
    const Tensor w = cpu.chain[k]->weight, w_gpu = gpu.chain[k]->weight.to(Device());
    EXPECT_LE(max_abs_difference(w, w_gpu), 1e-4 * max_abs(w)) << "layer " << k;
  }
}

}  // namespace
}  // namespace trifecta::testing
