// Reproducibility: a request's tokens depend only on its seed, its logits and its step.
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"
#include "worker/sampling/counter_rng.h"

namespace tandem::sampling {
namespace {

const std::vector<float> kRow = testing::random_logits(2000, 17, 1.0f);

SamplingParams sampled(std::optional<uint64_t> seed) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.95f;
  p.seed = seed;
  p.max_new_tokens = 1000;
  return p;
}

std::vector<int32_t> generate(SequenceSampler& s, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    std::vector<float> x = kRow;
    out.push_back(s.sample(x.data(), static_cast<int32_t>(x.size())).token);
    s.accept(out.back());
  }
  return out;
}

TEST(SeedTest, SameSeedSameTokens) {
  SequenceSampler a(sampled(42), {}, {}, 1);
  SequenceSampler b(sampled(42), {}, {}, 2);  // the fallback seed is unused when seed is set
  EXPECT_EQ(generate(a, 64), generate(b, 64));
}

TEST(SeedTest, DifferentSeedsDiffer) {
  SequenceSampler a(sampled(1), {}, {}, 0);
  SequenceSampler b(sampled(2), {}, {}, 0);
  EXPECT_NE(generate(a, 64), generate(b, 64));
}

TEST(SeedTest, FallbackSeedIsUsedWithoutASeed) {
  SequenceSampler a(sampled(std::nullopt), {}, {}, 7);
  SequenceSampler b(sampled(std::nullopt), {}, {}, 7);
  SequenceSampler c(sampled(std::nullopt), {}, {}, 8);
  const auto ta = generate(a, 64);
  EXPECT_EQ(ta, generate(b, 64));
  EXPECT_NE(ta, generate(c, 64));
}

TEST(SeedTest, IndependentOfOtherRequestsInTheBatch) {
  SequenceSampler alone(sampled(9), {}, {}, 0);
  const auto want = generate(alone, 32);
  // Same request interleaved with two others, as in a batch.
  SequenceSampler a(sampled(9), {}, {}, 0);
  SequenceSampler b(sampled(10), {}, {}, 0);
  SequenceSampler c(sampled(std::nullopt), {}, {}, 3);
  std::vector<int32_t> got;
  for (int i = 0; i < 32; ++i) {
    generate(b, 1);
    got.push_back(generate(a, 1)[0]);
    generate(c, 2);
  }
  EXPECT_EQ(got, want);
}

TEST(SeedTest, ResumedSamplerContinuesTheSameStream) {
  // A request retracted (or handed to another worker) after 20 tokens: a fresh sampler that is
  // told the accepted tokens draws what the original would have.
  SequenceSampler original(sampled(77), {}, {}, 0);
  const auto all = generate(original, 40);
  SequenceSampler resumed(sampled(77), {}, {}, 0);
  for (int i = 0; i < 20; ++i) resumed.accept(all[i]);
  const auto rest = generate(resumed, 20);
  EXPECT_EQ(rest, std::vector<int32_t>(all.begin() + 20, all.end()));
}

TEST(SeedTest, RepeatedDrawsWithinAStepAreFreshAndReproducible) {
  SequenceSampler a(sampled(5), {}, {}, 0);
  SequenceSampler b(sampled(5), {}, {}, 0);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 16; ++i) {
    std::vector<float> x = kRow, y = kRow;
    ta.push_back(a.sample(x.data(), 2000).token);
    tb.push_back(b.sample(y.data(), 2000).token);
  }
  EXPECT_EQ(ta, tb);
  EXPECT_GT(std::set<int32_t>(ta.begin(), ta.end()).size(), 1u);
}

TEST(CounterRngTest, UniformInUnitIntervalWithSaneMoments) {
  const CounterRng rng(123);
  double sum = 0.0, sum_sq = 0.0;
  constexpr int kN = 200000;
  for (uint64_t i = 0; i < kN; ++i) {
    const double u = rng.uniform(i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  EXPECT_NEAR(sum / kN, 0.5, 0.005);
  EXPECT_NEAR(sum_sq / kN - (sum / kN) * (sum / kN), 1.0 / 12.0, 0.002);
  // Nearby seeds give unrelated streams.
  EXPECT_NE(CounterRng(0).bits(0), CounterRng(1).bits(0));
  EXPECT_EQ(CounterRng(0).bits(5), CounterRng(0).bits(5));
}

}  // namespace
}  // namespace tandem::sampling
