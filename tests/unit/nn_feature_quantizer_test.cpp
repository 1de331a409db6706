// FeatureQuantizer (nn/feature_quantizer.h) against plain float64 loops: the nearest-entry output, the
// straight-through and commitment gradients (and finite differences of the loss), the EMA dictionary over
// three training steps, the auxiliary-only form, the state dict, usage(), CUDA against the CPU (skipped
// without a GPU) and the errors for bad input. Also nearest_code's behaviour outside its op spec: empty
// inputs, zero channels, no gradient, bad operands.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "nn/nn.h"
#include "tests/harness/gradcheck.h"

namespace trifecta::testing {
namespace {

using nn::FeatureQuantizer;
using nn::FeatureQuantizerOptions;

// The EMA dictionary state, in float64 on the host.
struct ReferenceState {
  int64_t entries, channels;
  std::vector<double> dictionary, cluster_size, embed_sum;
};

ReferenceState state_of(const FeatureQuantizer& q) {
  const NamedTensors buffers = q.named_buffers();
  EXPECT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[0].first, "dictionary");
  EXPECT_EQ(buffers[1].first, "cluster_size");
  EXPECT_EQ(buffers[2].first, "embed_sum");
  return {buffers[0].second.size(0), buffers[0].second.size(1), buffers[0].second.to_vector<double>(),
          buffers[1].second.to_vector<double>(), buffers[2].second.to_vector<double>()};
}

// Feature vectors of h [N, C, H, W] as rows [N*H*W][C], in (n, y, x) order.
std::vector<std::vector<double>> rows_of(const Tensor& h) {
  const std::vector<double> v = h.to_vector<double>();
  const int64_t n = h.size(0), c = h.size(1), hw = h.size(2) * h.size(3);
  std::vector<std::vector<double>> rows;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < hw; ++p) {
      std::vector<double> row(c);
      for (int64_t ch = 0; ch < c; ++ch) row[ch] = v[(i * c + ch) * hw + p];
      rows.push_back(row);
    }
  return rows;
}

int64_t nearest(const ReferenceState& s, const std::vector<double>& h) {
  int64_t best = 0;
  double best_distance = INFINITY;
  for (int64_t k = 0; k < s.entries; ++k) {
    double d = 0;
    for (int64_t c = 0; c < s.channels; ++c) d += std::pow(h[c] - s.dictionary[k * s.channels + c], 2);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

// The quantized map [N, C, H, W] (flattened) of h under s.
std::vector<double> quantized(const ReferenceState& s, const Tensor& h) {
  const std::vector<std::vector<double>> rows = rows_of(h);
  const int64_t c = h.size(1), hw = h.size(2) * h.size(3);
  std::vector<double> out(h.numel());
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t k = nearest(s, rows[r]), i = static_cast<int64_t>(r) / hw, p = static_cast<int64_t>(r) % hw;
    for (int64_t ch = 0; ch < c; ++ch) out[(i * c + ch) * hw + p] = s.dictionary[k * c + ch];
  }
  return out;
}

// One training step of the EMA update, written from the paper's formulas.
void reference_update(ReferenceState& s, const Tensor& h, double decay, double eps) {
  const std::vector<std::vector<double>> rows = rows_of(h);
  std::vector<double> counts(s.entries, 0.0), sums(s.entries * s.channels, 0.0);
  for (const auto& row : rows) {
    const int64_t k = nearest(s, row);
    counts[k] += 1;
    for (int64_t c = 0; c < s.channels; ++c) sums[k * s.channels + c] += row[c];
  }
  double n = 0;
  for (int64_t k = 0; k < s.entries; ++k) {
    s.cluster_size[k] = decay * s.cluster_size[k] + (1 - decay) * counts[k];
    n += s.cluster_size[k];
  }
  for (int64_t i = 0; i < s.entries * s.channels; ++i) s.embed_sum[i] = decay * s.embed_sum[i] + (1 - decay) * sums[i];
  for (int64_t k = 0; k < s.entries; ++k) {
    const double smoothed = (s.cluster_size[k] + eps) / (n + s.entries * eps) * n;
    for (int64_t c = 0; c < s.channels; ++c)
      s.dictionary[k * s.channels + c] = s.embed_sum[k * s.channels + c] / smoothed;
  }
}

Tensor tensor_of(const std::vector<double>& v, const Shape& shape) { return from_vector(v, shape, {DType::Float64}); }

std::shared_ptr<FeatureQuantizer> float64_quantizer(int64_t channels, FeatureQuantizerOptions options, uint64_t seed) {
  Generator g(seed);
  auto q = std::make_shared<FeatureQuantizer>(channels, options, &g);
  q->to(DType::Float64);
  return q;
}

constexpr Tolerance kFloat64{1e-12, 1e-12};

TEST(FeatureQuantizer, ForwardIsTheNearestEntryOfEveryFeatureVector) {
  const auto q = float64_quantizer(3, {.entries = 16}, 1);
  Generator g(2);
  const Tensor h = randn({2, 3, 4, 5}, {DType::Float64}, &g);
  for (bool training : {false, true}) {
    q->train(training);
    const ReferenceState before = state_of(*q);  // a training forward quantizes with the dictionary before its update
    const auto out = q->forward(h);
    ASSERT_EQ(out.features.shape(), h.shape());
    EXPECT_TRUE(tensors_close(out.features, tensor_of(quantized(before, h), h.shape()), {0, 0}, "features"));
  }
  // [N, C] input: each row is one feature vector.
  q->eval();
  const Tensor rows = randn({7, 3}, {DType::Float64}, &g);
  const auto out = q->forward(rows);
  EXPECT_TRUE(tensors_close(out.features.reshape({7, 3, 1, 1}),
                            tensor_of(quantized(state_of(*q), rows.reshape({7, 3, 1, 1})), {7, 3, 1, 1}), {0, 0},
                            "features of [N, C]"));
}

TEST(FeatureQuantizer, StraightThroughAndCommitmentGradients) {
  const double beta = 0.7;
  const auto q = float64_quantizer(4, {.entries = 10, .commitment = beta}, 3);
  q->eval();
  Generator g(4);
  const Tensor h = randn({2, 4, 3, 3}, {DType::Float64}, &g).requires_grad_();
  const Tensor w = randn(h.shape(), {DType::Float64}, &g);

  // d sum(w * features) / dh = w: the quantization is invisible to the gradient.
  sum(mul(w, q->forward(h).features)).backward();
  EXPECT_TRUE(tensors_close(h.grad(), w, {0, 0}, "straight-through gradient"));

  // d beta mean((q - h)^2) / dh = 2 beta (h - q) / numel.
  h.zero_grad();
  const auto out = q->forward(h);
  const std::vector<double> qv = quantized(state_of(*q), h.detach()), hv = h.to_vector<double>();
  double loss = 0;
  std::vector<double> expected(hv.size());
  for (size_t i = 0; i < hv.size(); ++i) {
    loss += beta * (qv[i] - hv[i]) * (qv[i] - hv[i]) / static_cast<double>(hv.size());
    expected[i] = 2 * beta * (hv[i] - qv[i]) / static_cast<double>(hv.size());
  }
  EXPECT_EQ(out.commitment_loss.ndim(), 0);
  EXPECT_NEAR(out.commitment_loss.item<double>(), loss, 1e-14);
  out.commitment_loss.backward();
  EXPECT_TRUE(tensors_close(h.grad(), tensor_of(expected, h.shape()), kFloat64, "commitment gradient"));

  // Central differences of the loss (the assignment stays put for so small a step).
  const double step = 1e-6;
  std::vector<double> differences(hv.size());
  NoGradGuard no_grad;
  for (size_t i = 0; i < hv.size(); ++i) {
    std::vector<double> plus = hv, minus = hv;
    plus[i] += step;
    minus[i] -= step;
    differences[i] = (q->forward(tensor_of(plus, h.shape())).commitment_loss.item<double>() -
                      q->forward(tensor_of(minus, h.shape())).commitment_loss.item<double>()) /
                     (2 * step);
  }
  EXPECT_TRUE(tensors_close(h.grad(), tensor_of(differences, h.shape()), {1e-6, 1e-9}, "finite differences"));
}

TEST(FeatureQuantizer, EmaDictionaryFollowsThePaperOverThreeSteps) {
  const FeatureQuantizerOptions options{.entries = 6, .decay = 0.8, .eps = 1e-5};
  const auto q = float64_quantizer(3, options, 5);
  ReferenceState expected = state_of(*q);
  for (double v : expected.cluster_size) EXPECT_EQ(v, 0.0);
  EXPECT_EQ(expected.embed_sum, expected.dictionary);
  Generator g(6);
  for (int step = 0; step < 3; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const Tensor h = randn({2, 3, 2, 3}, {DType::Float64}, &g);
    q->forward(h);
    reference_update(expected, h, options.decay, options.eps);
    const ReferenceState actual = state_of(*q);
    EXPECT_TRUE(tensors_close(tensor_of(actual.cluster_size, {6}), tensor_of(expected.cluster_size, {6}), kFloat64,
                              "cluster_size"));
    EXPECT_TRUE(tensors_close(tensor_of(actual.embed_sum, {6, 3}), tensor_of(expected.embed_sum, {6, 3}), kFloat64,
                              "embed_sum"));
    EXPECT_TRUE(tensors_close(tensor_of(actual.dictionary, {6, 3}), tensor_of(expected.dictionary, {6, 3}), kFloat64,
                              "dictionary"));
  }
  // Evaluation leaves the dictionary alone.
  q->eval();
  q->forward(randn({2, 3, 2, 3}, {DType::Float64}, &g));
  EXPECT_TRUE(tensors_close(tensor_of(state_of(*q).dictionary, {6, 3}), tensor_of(expected.dictionary, {6, 3}),
                            kFloat64, "dictionary after eval"));
}

TEST(FeatureQuantizer, AuxiliaryOnlyFormPassesTheInputAndKeepsTheLoss) {
  const auto fed = float64_quantizer(3, {.entries = 8}, 7);
  const auto aux = float64_quantizer(3, {.entries = 8, .feed_forward = false}, 7);
  Generator g(8);
  const Tensor h = randn({2, 3, 3, 2}, {DType::Float64}, &g).requires_grad_();
  const auto a = aux->forward(h), f = fed->forward(h);
  EXPECT_TRUE(tensors_close(a.features, h.detach(), {0, 0}, "auxiliary-only features"));
  EXPECT_FALSE(tensors_close(f.features, h.detach(), {0, 0}, "quantized features"));
  EXPECT_EQ(a.commitment_loss.item<double>(), f.commitment_loss.item<double>());
  // The same EMA update happens in both forms.
  EXPECT_EQ(state_of(*aux).dictionary, state_of(*fed).dictionary);
  add(sum(a.features), a.commitment_loss).backward();
  EXPECT_TRUE(h.grad().defined());
}

TEST(FeatureQuantizer, StateDictRoundTripResumesExactly) {
  const FeatureQuantizerOptions options{.entries = 12};
  Generator init(9), data(10);
  FeatureQuantizer trained(4, options, &init);
  for (int i = 0; i < 2; ++i) trained.forward(randn({3, 4, 2, 2}, {}, &data));

  const std::string path = (std::filesystem::temp_directory_path() / "feature_quantizer_state.safetensors").string();
  save_safetensors(path, trained.state_dict());
  Generator other(11);
  FeatureQuantizer resumed(4, options, &other);
  resumed.load_state_dict(load_safetensors(path).tensors);
  std::filesystem::remove(path);

  const NamedTensors a = trained.state_dict(), b = resumed.state_dict();
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(tensors_close(b[i].second, a[i].second, {0, 0}, a[i].first));
  // The next training step agrees bit for bit.
  const Tensor h = randn({3, 4, 2, 2}, {}, &data);
  const auto out_a = trained.forward(h), out_b = resumed.forward(h);
  EXPECT_TRUE(tensors_close(out_b.features, out_a.features, {0, 0}, "features"));
  EXPECT_EQ(out_b.commitment_loss.item<float>(), out_a.commitment_loss.item<float>());
  EXPECT_TRUE(tensors_close(resumed.state_dict()[0].second, trained.state_dict()[0].second, {0, 0}, "dictionary"));
}

TEST(FeatureQuantizer, UsageOfAHandBuiltAssignment) {
  FeatureQuantizer q(2, {.entries = 4});
  const auto before = q.usage();
  EXPECT_EQ(before.perplexity, 0.0);
  EXPECT_EQ(before.dead_entries, 4);
  // Entries far apart; six vectors near entry 0, two near entry 2: histogram {6, 0, 2, 0} / 8.
  NamedTensors state = q.state_dict();
  state[0].second = from_vector(std::vector<float>{0, 0, 10, 0, 0, 10, 10, 10}, {4, 2});
  q.load_state_dict(state);
  const Tensor h = from_vector(std::vector<float>{0.1f, 0, -0.2f, 0.3f, 0, 0, 0.5f, -0.1f, 0.2f, 0.2f, -0.3f, 0,
                                                  0.1f, 9.5f, -0.4f, 10.2f},
                               {8, 2});
  q.forward(h);
  const auto usage = q.usage();
  EXPECT_NEAR(usage.perplexity, std::exp(-(0.75 * std::log(0.75) + 0.25 * std::log(0.25))), 1e-12);
  EXPECT_EQ(usage.dead_entries, 2);
  // An evaluation forward does not count.
  q.eval();
  q.forward(from_vector(std::vector<float>{10, 0}, {1, 2}));
  EXPECT_EQ(q.usage().dead_entries, 2);
}

TEST(FeatureQuantizer, CudaMatchesTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no CUDA device present; the CUDA quantizer is compared on a GPU machine";
  Generator init_cpu(12), init_cuda(12), data(13);
  FeatureQuantizer cpu(8, {.entries = 64}, &init_cpu), cuda(8, {.entries = 64}, &init_cuda);
  cuda.to(kCUDA);
  constexpr Tolerance kCrossDevice{1e-5, 1e-6};
  for (int step = 0; step < 3; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const Tensor h = randn({4, 8, 5, 5}, {}, &data);
    const Tensor h_cpu = h.clone().requires_grad_(), h_cuda = h.to(kCUDA).requires_grad_();
    const auto a = cpu.forward(h_cpu), b = cuda.forward(h_cuda);
    EXPECT_TRUE(tensors_close(b.features.to(kCPU), a.features, kCrossDevice, "features"));
    EXPECT_NEAR(b.commitment_loss.item<float>(), a.commitment_loss.item<float>(), 1e-5);
    add(sum(square(a.features)), a.commitment_loss).backward();
    add(sum(square(b.features)), b.commitment_loss).backward();
    EXPECT_TRUE(tensors_close(h_cuda.grad().to(kCPU), h_cpu.grad(), kCrossDevice, "gradient"));
    const NamedTensors sa = cpu.state_dict(), sb = cuda.state_dict();
    for (size_t i = 0; i < sa.size(); ++i)
      EXPECT_TRUE(tensors_close(sb[i].second.to(kCPU), sa[i].second, {1e-5, 1e-5}, sa[i].first));
    EXPECT_EQ(cuda.usage().dead_entries, cpu.usage().dead_entries);
  }
}

TEST(FeatureQuantizer, RefusesBadInput) {
  FeatureQuantizer q(3, {.entries = 5});
  EXPECT_THROW(q.forward(zeros({2, 4, 2, 2})), Error);                     // channel mismatch
  EXPECT_THROW(q.forward(zeros({2, 3, 2})), Error);                        // rank 3
  EXPECT_THROW(q.forward(zeros({2, 3, 2, 2}, {DType::Int64})), Error);     // not floating
  EXPECT_THROW(q.forward(zeros({2, 3, 2, 2}, {DType::Float64})), Error);   // not the dictionary's dtype
  EXPECT_THROW(q.forward(zeros({0, 3, 2, 2})), Error);                     // no feature vectors
  EXPECT_THROW(q.forward(Tensor()), Error);
  EXPECT_THROW(FeatureQuantizer(0), Error);
  EXPECT_THROW(FeatureQuantizer(3, {.entries = 0}), Error);
  EXPECT_THROW(FeatureQuantizer(3, {.decay = 1.0}), Error);
  EXPECT_THROW(FeatureQuantizer(3, {.commitment = -1}), Error);
  EXPECT_THROW(FeatureQuantizer(3, {.eps = 0}), Error);
  try {
    q.forward(zeros({2, 4, 2, 2}));
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("FeatureQuantizer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 channels"), std::string::npos) << e.what();
  }
}

TEST(NearestCode, EdgesAndNoGradient) {
  const Tensor codebook = from_vector(std::vector<float>{0, 0, 1, 1, 2, 2}, {3, 2});
  const Tensor h = from_vector(std::vector<float>{1.9f, 2.2f, 0.4f, 0.4f, 0.6f, 0.6f}, {3, 2}).requires_grad_();
  const Tensor indices = nearest_code(h, codebook);
  EXPECT_EQ(indices.dtype(), DType::Int64);
  EXPECT_FALSE(indices.requires_grad());
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(nearest_code(zeros({0, 2}), codebook).shape(), Shape({0}));
  EXPECT_EQ(nearest_code(zeros({4, 0}), zeros({3, 0})).to_vector<int64_t>(), std::vector<int64_t>(4, 0));
  EXPECT_THROW(nearest_code(zeros({2, 3}), codebook), Error);                    // channels disagree
  EXPECT_THROW(nearest_code(zeros({2, 2}), zeros({0, 2})), Error);               // empty codebook
  EXPECT_THROW(nearest_code(zeros({2, 2, 1}), codebook), Error);                 // rank
  EXPECT_THROW(nearest_code(zeros({2, 2}, {DType::Float64}), codebook), Error);  // dtypes differ
  EXPECT_THROW(nearest_code(zeros({2, 2}, {DType::Int64}), zeros({3, 2}, {DType::Int64})), Error);
}

}  // namespace
}  // namespace trifecta::testing
