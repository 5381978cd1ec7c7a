#include <algorithm>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"
#include "worker/sampling/sequence_sampler.h"

namespace tandem::sampling {
namespace {

int32_t sample_once(const SamplingParams& params, std::vector<float> logits, uint64_t seed = 0) {
  SequenceSampler sampler(params, {}, {}, seed);
  return sampler.sample(logits.data(), static_cast<int32_t>(logits.size())).token;
}

int32_t reference_argmax(const std::vector<float>& x) {
  return static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());  // first max
}

TEST(GreedyTest, TemperatureZeroIsArgmax) {
  SamplingParams p;
  p.temperature = 0.0f;
  for (int32_t vocab : {1, 2, 17, 1000, 49152}) {
    for (uint32_t seed = 0; seed < 5; ++seed) {
      const std::vector<float> x = testing::random_logits(vocab, seed * 977 + vocab);
      EXPECT_EQ(sample_once(p, x, seed), reference_argmax(x)) << "vocab=" << vocab;
    }
  }
}

TEST(GreedyTest, TiesGoToTheLowestId) {
  SamplingParams p;
  p.temperature = 0.0f;
  std::vector<float> x(1000, 0.0f);
  x[700] = 3.0f;
  x[999] = 3.0f;
  x[123] = 3.0f;
  EXPECT_EQ(sample_once(p, x), 123);
  std::vector<float> flat(77, -1.5f);
  EXPECT_EQ(sample_once(p, flat), 0);
}

TEST(GreedyTest, TopKOneAndTinyTemperatureAreGreedy) {
  const std::vector<float> x = testing::random_logits(5000, 42);
  const int32_t want = reference_argmax(x);
  SamplingParams top1;
  top1.top_k = 1;
  SamplingParams tiny;
  tiny.temperature = 1e-7f;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(sample_once(top1, x, seed), want);
    EXPECT_EQ(sample_once(tiny, x, seed), want);
  }
}

TEST(GreedyTest, NaNLogitsAreNeverChosen) {
  SamplingParams p;
  p.temperature = 0.0f;
  std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f, 0.5f};
  EXPECT_EQ(sample_once(p, x), 2);
}

TEST(GreedyTest, SamplingAPeakedRowAtLowTemperatureAgreesWithArgmax) {
  // Not greedy by parameters, but a 20-logit gap at T=0.5 leaves no mass elsewhere.
  std::vector<float> x = testing::random_logits(3000, 8);
  x[1234] = 40.0f;
  SamplingParams p;
  p.temperature = 0.5f;
  for (uint64_t seed = 0; seed < 10; ++seed) EXPECT_EQ(sample_once(p, x, seed), 1234);
}

TEST(GreedyDeathTest, AllMaskedRowIsAnInvariantViolation) {
  SamplingParams p;
  p.temperature = 0.0f;
  std::vector<float> x(8, -std::numeric_limits<float>::infinity());
  EXPECT_DEATH(sample_once(p, x), "no token can be sampled");
}

}  // namespace
}  // namespace tandem::sampling
