// Philox4x32-10 and the random factories built on it: the block function against Random123's published
// known-answer vectors, the mapping of (seed, offset, index) to counters, determinism and offset bookkeeping
// of Generator, and first and second moments of large draws.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "kernels/fill/philox.h"

namespace trifecta {
namespace {

struct KnownAnswer {
  Philox4x32 counter;
  uint32_t key0, key1;
  Philox4x32 expected;
};

// The three "philox4x32 10" lines of Random123's tests/kat_vectors (Salmon et al., SC 2011): counter words,
// key words, then the four output words.
const KnownAnswer kKnownAnswers[] = {
    {{{0x00000000, 0x00000000, 0x00000000, 0x00000000}}, 0x00000000, 0x00000000,
     {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
    {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
     {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
    {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
     {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
};

TEST(Philox, MatchesRandom123KnownAnswerVectors) {
  for (const KnownAnswer& k : kKnownAnswers) {
    const Philox4x32 got = philox4x32_10(k.counter, k.key0, k.key1);
    for (int w = 0; w < 4; ++w)
      EXPECT_EQ(got.v[w], k.expected.v[w]) << "word " << w << " for counter word 0 = " << std::hex << k.counter.v[0];
  }
}

bool same_words(const Philox4x32& a, const Philox4x32& b) {
  return a.v[0] == b.v[0] && a.v[1] == b.v[1] && a.v[2] == b.v[2] && a.v[3] == b.v[3];
}

TEST(Philox, ElementCounterIsOffsetPlusIndexAcrossTheLowWord) {
  const uint64_t seed = 0x0123456789abcdefull;
  // Counter offset + index, carried into the counter's second word: (2^32 - 1) + 1 == 0 + 2^32.
  EXPECT_TRUE(same_words(philox_element(seed, 0xffffffffull, 1), philox_element(seed, 0, 0x100000000ull)));
  EXPECT_TRUE(same_words(philox_element(seed, 0x100000000ull, 0),
                         philox4x32_10(Philox4x32{{0u, 1u, 0u, 0u}}, 0x89abcdefu, 0x01234567u)));
  EXPECT_FALSE(same_words(philox_element(seed, 0, 0), philox_element(seed, 0, 1)));
  // Both halves of the seed are key material.
  EXPECT_FALSE(same_words(philox_element(seed, 0, 0), philox_element(seed ^ (1ull << 40), 0, 0)));
  EXPECT_FALSE(same_words(philox_element(seed, 0, 0), philox_element(seed ^ 1ull, 0, 0)));
}

TEST(Philox, UniformAndNormalMapsStayInRange) {
  EXPECT_EQ(philox_uniform(Philox4x32{{0u, 0u, 0u, 0u}}), 0.0);
  const double top = philox_uniform(Philox4x32{{0xffffffffu, 0xffffffffu, 0u, 0u}});
  EXPECT_LT(top, 1.0);
  EXPECT_GT(top, 1.0 - 1e-15);
  // u1 = 1 gives radius 0; u1 = 2^-32 gives the largest radius, still finite.
  EXPECT_EQ(philox_normal(Philox4x32{{0u, 0u, 0xffffffffu, 0u}}), 0.0);
  const double tail = philox_normal(Philox4x32{{0u, 0u, 0u, 0u}});
  EXPECT_TRUE(std::isfinite(tail));
  EXPECT_NEAR(tail, std::sqrt(2.0 * 32.0 * std::log(2.0)), 1e-9);
}

TEST(Generator, EqualStatesGiveEqualDraws) {
  Generator a(42), b(42);
  EXPECT_EQ(rand({100}, DType::Float64, &a).to_vector<double>(), rand({100}, DType::Float64, &b).to_vector<double>());
  EXPECT_EQ(randn({7, 9}, DType::Float32, &a).to_vector<float>(), randn({7, 9}, DType::Float32, &b).to_vector<float>());
  // A restored state replays the draw that followed it.
  const GeneratorState saved = a.state();
  const std::vector<double> first = randn({33}, DType::Float64, &a).to_vector<double>();
  a.set_state(saved);
  EXPECT_EQ(randn({33}, DType::Float64, &a).to_vector<double>(), first);
  // manual_seed of the default generator replays too.
  manual_seed(1234);
  const std::vector<double> from_default = rand({16}, DType::Float64).to_vector<double>();
  manual_seed(1234);
  EXPECT_EQ(rand({16}, DType::Float64).to_vector<double>(), from_default);
}

TEST(Generator, DifferentSeedsGiveDifferentDraws) {
  Generator a(1), b(2);
  EXPECT_NE(rand({64}, DType::Float64, &a).to_vector<double>(), rand({64}, DType::Float64, &b).to_vector<double>());
}

TEST(Generator, OffsetsAdvanceSoConsecutiveDrawsDiffer) {
  Generator g(7);
  EXPECT_EQ(g.state().offset, 0u);
  const std::vector<double> first = rand({10}, DType::Float64, &g).to_vector<double>();
  EXPECT_EQ(g.state().offset, 10u);
  const std::vector<double> second = rand({10}, DType::Float64, &g).to_vector<double>();
  EXPECT_EQ(g.state().offset, 20u);
  EXPECT_NE(first, second);
  EXPECT_EQ(g.state().seed, 7u);
  // Two draws of 10 are exactly one draw of 20 split in two: the counters never overlap or skip.
  Generator whole(7);
  const std::vector<double> all = rand({20}, DType::Float64, &whole).to_vector<double>();
  EXPECT_EQ(std::vector<double>(all.begin(), all.begin() + 10), first);
  EXPECT_EQ(std::vector<double>(all.begin() + 10, all.end()), second);
  // Every factory reserves one counter per element.
  randn({3, 4}, DType::Float32, &g);
  EXPECT_EQ(g.state().offset, 32u);
  bernoulli({5}, 0.5, DType::Float32, &g);
  EXPECT_EQ(g.state().offset, 37u);
}

struct Moments {
  double mean = 0, variance = 0;
};

Moments moments_of(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size() - 1);
  return m;
}

// Mean and variance of n draws against the distribution's, within 5 standard errors. The standard error of
// the sample variance is sqrt((mu4 - sigma^4) / n), mu4 the fourth central moment.
void expect_moments(const std::vector<double>& draws, double mean, double variance, double fourth_moment,
                    const char* what) {
  const double n = static_cast<double>(draws.size());
  const Moments m = moments_of(draws);
  EXPECT_NEAR(m.mean, mean, 5.0 * std::sqrt(variance / n)) << what << ": mean";
  EXPECT_NEAR(m.variance, variance, 5.0 * std::sqrt((fourth_moment - variance * variance) / n)) << what << ": variance";
}

constexpr int64_t kDraws = 100000;

TEST(Generator, RandHasUniformMoments) {
  Generator g(2024);
  // U(0, 1): variance 1/12, fourth central moment 1/80.
  expect_moments(rand({kDraws}, DType::Float64, &g).to_vector<double>(), 0.5, 1.0 / 12.0, 1.0 / 80.0, "rand float64");
  expect_moments(rand({kDraws}, DType::Float32, &g).to_vector<double>(), 0.5, 1.0 / 12.0, 1.0 / 80.0, "rand float32");
  // U(-3, 5): variance 64/12, fourth central moment 4^4/5.
  expect_moments(uniform({kDraws}, -3.0, 5.0, DType::Float64, &g).to_vector<double>(), 1.0, 64.0 / 12.0, 256.0 / 5.0,
                 "uniform(-3, 5)");
}

TEST(Generator, RandnHasNormalMoments) {
  Generator g(99);
  // N(0, 1): fourth central moment 3.
  expect_moments(randn({kDraws}, DType::Float64, &g).to_vector<double>(), 0.0, 1.0, 3.0, "randn float64");
  expect_moments(randn({kDraws}, DType::Float32, &g).to_vector<double>(), 0.0, 1.0, 3.0, "randn float32");
  // N(2, 0.5^2): fourth central moment 3 * 0.5^4.
  expect_moments(normal({kDraws}, 2.0, 0.5, DType::Float64, &g).to_vector<double>(), 2.0, 0.25, 3.0 * 0.0625,
                 "normal(2, 0.5)");
}

TEST(Generator, BernoulliHasBernoulliMoments) {
  Generator g(5);
  for (double p : {0.3, 0.9}) {
    // Bernoulli(p): variance p(1-p), fourth central moment p(1-p)(1 - 3p(1-p)).
    const double v = p * (1 - p);
    const std::vector<double> draws = bernoulli({kDraws}, p, DType::Float64, &g).to_vector<double>();
    for (double x : draws) ASSERT_TRUE(x == 0.0 || x == 1.0) << "bernoulli drew " << x;
    expect_moments(draws, p, v, v * (1 - 3 * v), "bernoulli(p)");
  }
  // The probability-tensor form: half the elements at p = 0.2, half at p = 0.7.
  std::vector<double> probs(kDraws);
  for (int64_t i = 0; i < kDraws; ++i) probs[i] = i % 2 ? 0.7 : 0.2;
  const std::vector<double> draws = bernoulli(from_vector(probs, {kDraws}), &g).to_vector<double>();
  std::vector<double> low, high;
  for (int64_t i = 0; i < kDraws; ++i) (i % 2 ? high : low).push_back(draws[i]);
  EXPECT_NEAR(moments_of(low).mean, 0.2, 5.0 * std::sqrt(0.16 / (kDraws / 2)));
  EXPECT_NEAR(moments_of(high).mean, 0.7, 5.0 * std::sqrt(0.21 / (kDraws / 2)));
}

TEST(Generator, NarrowUniformDrawsStayBelowHigh) {
  // Rounding to 8 (bfloat16) or 11 (float16) significant bits would land about 1 in 512 (2048) draws just
  // below 1 on 1 itself; the kernel keeps [low, high) half-open.
  Generator g(3);
  for (DType dtype : {DType::BFloat16, DType::Float16, DType::Float32}) {
    const std::vector<double> draws = rand({kDraws}, dtype, &g).to_vector<double>();
    double lowest = 1, highest = 0;
    for (double x : draws) {
      lowest = std::min(lowest, x);
      highest = std::max(highest, x);
    }
    EXPECT_GE(lowest, 0.0) << dtype_name(dtype);
    EXPECT_LT(highest, 1.0) << dtype_name(dtype);
  }
}

}  // namespace
}  // namespace trifecta
