// accept(): EOS, stop ids, ignore_eos, min_new_tokens and max_new_tokens.
#include <vector>

#include <gtest/gtest.h>

#include "worker/sampling/sequence_sampler.h"

namespace tandem::sampling {
namespace {

constexpr int32_t kEos = 2;
constexpr int32_t kImEnd = 3;

SequenceSampler make(const SamplingParams& p) { return SequenceSampler(p, {}, {kEos, kImEnd}, 0); }

TEST(StopTest, EosIdsEndTheRequest) {
  SamplingParams p;
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(10), FinishReason::kNone);
  EXPECT_EQ(s.accept(kImEnd), FinishReason::kStop);
  SequenceSampler s2 = make(p);
  EXPECT_EQ(s2.accept(kEos), FinishReason::kStop);
  EXPECT_EQ(s2.num_generated(), 1);
}

TEST(StopTest, StopTokenIdsEndTheRequest) {
  SamplingParams p;
  p.stop_token_ids = {42};
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(41), FinishReason::kNone);
  EXPECT_EQ(s.accept(42), FinishReason::kStop);
}

TEST(StopTest, IgnoreEosKeepsGoingButStopIdsStillStop) {
  SamplingParams p;
  p.ignore_eos = true;
  p.stop_token_ids = {42};
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(kEos), FinishReason::kNone);
  EXPECT_EQ(s.accept(kImEnd), FinishReason::kNone);
  EXPECT_EQ(s.accept(42), FinishReason::kStop);
}

TEST(StopTest, IgnoreEosLetsGreedyPickEos) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.ignore_eos = true;
  p.min_new_tokens = 5;  // would mask EOS if EOS were not ignored
  SequenceSampler s = make(p);
  std::vector<float> x = {0.0f, 1.0f, 9.0f, 0.5f};
  EXPECT_EQ(s.sample(x.data(), 4).token, kEos);
}

TEST(StopTest, MaxNewTokensEndsWithLengthAtTheExactCount) {
  SamplingParams p;
  p.max_new_tokens = 3;
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(10), FinishReason::kNone);
  EXPECT_EQ(s.accept(11), FinishReason::kNone);
  EXPECT_EQ(s.accept(12), FinishReason::kLength);
  EXPECT_EQ(s.num_generated(), 3);
}

TEST(StopTest, StopWinsOverLengthOnTheLastToken) {
  SamplingParams p;
  p.max_new_tokens = 2;
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(10), FinishReason::kNone);
  EXPECT_EQ(s.accept(kEos), FinishReason::kStop);
}

TEST(StopTest, ZeroMaxNewTokensEndsAtTheFirstAccept) {
  SamplingParams p;
  p.max_new_tokens = 0;
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(10), FinishReason::kLength);
}

TEST(StopTest, MinNewTokensMasksEosAndStopIdsInSampling) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.min_new_tokens = 2;
  p.stop_token_ids = {1};
  SequenceSampler s = make(p);
  // EOS ids and the stop id hold the three best logits; token 0 is the best unmasked one.
  const std::vector<float> row = {0.5f, 8.0f, 9.0f, 7.0f};
  for (int step = 0; step < 2; ++step) {
    std::vector<float> x = row;
    const int32_t t = s.sample(x.data(), 4).token;
    EXPECT_EQ(t, 0) << "step " << step;
    EXPECT_EQ(s.accept(t), FinishReason::kNone);
  }
  std::vector<float> x = row;
  const int32_t t = s.sample(x.data(), 4).token;
  EXPECT_EQ(t, kEos);
  EXPECT_EQ(s.accept(t), FinishReason::kStop);
}

TEST(StopTest, MinNewTokensMasksEosWhenSamplingWithTemperature) {
  SamplingParams p;
  p.min_new_tokens = 50;
  p.max_new_tokens = 100;
  p.seed = 5;
  SequenceSampler s = make(p);
  const std::vector<float> row = {0.0f, 0.0f, 3.0f, 3.0f, 0.0f};  // EOS ids hold 90% of the mass
  for (int step = 0; step < 50; ++step) {
    std::vector<float> x = row;
    const int32_t t = s.sample(x.data(), 5).token;
    ASSERT_NE(t, kEos) << "step " << step;
    ASSERT_NE(t, kImEnd) << "step " << step;
    ASSERT_EQ(s.accept(t), FinishReason::kNone);
  }
}

TEST(StopTest, EosAcceptedBeforeMinNewTokensDoesNotStop) {
  SamplingParams p;
  p.min_new_tokens = 2;
  SequenceSampler s = make(p);
  EXPECT_EQ(s.accept(kEos), FinishReason::kNone);  // e.g. a forced token
  EXPECT_EQ(s.accept(kEos), FinishReason::kNone);
  EXPECT_EQ(s.accept(kEos), FinishReason::kStop);
}

}  // namespace
}  // namespace tandem::sampling
