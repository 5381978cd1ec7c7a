// Logprobs are log_softmax of the raw logits, whatever the sampling edits and truncation do.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"

namespace tandem::sampling {
namespace {

TEST(LogprobsTest, ChosenTokenLogprobIsLogSoftmaxOfRawLogits) {
  const std::vector<float> raw = testing::random_logits(5000, 31, 3.0f);
  const std::vector<double> want = testing::log_softmax(raw);
  SamplingParams p;
  p.return_logprob = true;
  p.temperature = 0.6f;
  p.top_p = 0.9f;
  p.seed = 3;
  SequenceSampler s(p, {}, {}, 0);
  for (int i = 0; i < 20; ++i) {
    std::vector<float> x = raw;
    const SampleResult r = s.sample(x.data(), 5000);
    EXPECT_NEAR(r.logprob, want[r.token], 1e-4) << "token " << r.token;
    EXPECT_TRUE(r.top_logprobs.empty());
    s.accept(r.token);
  }
}

TEST(LogprobsTest, EditedTokensReportTheirRawLogprob) {
  // Token 3 is forced by bias and repetition-penalized: its logprob must still be the raw one.
  const std::vector<float> raw = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f};
  const std::vector<double> want = testing::log_softmax(raw);
  SamplingParams p;
  p.temperature = 0.0f;
  p.return_logprob = true;
  p.repetition_penalty = 1.3f;
  p.logit_bias = {{3, 50.0f}};
  SequenceSampler s(p, std::vector<int32_t>{3}, {}, 0);
  std::vector<float> x = raw;
  const SampleResult r = s.sample(x.data(), 5);
  ASSERT_EQ(r.token, 3);
  EXPECT_NEAR(r.logprob, want[3], 1e-5);
}

TEST(LogprobsTest, TopLogprobsAreSortedDescendingAndNormalized) {
  // A vocabulary of 20 reported in full: the probabilities must sum to 1.
  const std::vector<float> raw = testing::random_logits(20, 8, 2.0f);
  const std::vector<double> want = testing::log_softmax(raw);
  SamplingParams p;
  p.top_logprobs = 20;
  p.seed = 1;
  SequenceSampler s(p, {}, {}, 0);
  std::vector<float> x = raw;
  const SampleResult r = s.sample(x.data(), 20);
  ASSERT_EQ(r.top_logprobs.size(), 20u);
  double total = 0.0;
  for (size_t j = 0; j < r.top_logprobs.size(); ++j) {
    const TokenLogprob& t = r.top_logprobs[j];
    EXPECT_NEAR(t.logprob, want[t.token], 1e-5);
    if (j > 0) {
      EXPECT_GE(r.top_logprobs[j - 1].logprob, t.logprob);
    }
    total += std::exp(static_cast<double>(t.logprob));
  }
  EXPECT_NEAR(total, 1.0, 1e-5);
  // top_logprobs alone also fills the chosen token's logprob.
  EXPECT_NEAR(r.logprob, want[r.token], 1e-5);
}

TEST(LogprobsTest, TopLogprobsTiesListLowerIdsFirst) {
  const std::vector<float> raw = {1.0f, 3.0f, 2.0f, 3.0f, 2.0f, 0.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_logprobs = 4;
  SequenceSampler s(p, {}, {}, 0);
  std::vector<float> x = raw;
  const SampleResult r = s.sample(x.data(), 6);
  ASSERT_EQ(r.top_logprobs.size(), 4u);
  EXPECT_EQ(r.top_logprobs[0].token, 1);
  EXPECT_EQ(r.top_logprobs[1].token, 3);
  EXPECT_EQ(r.top_logprobs[2].token, 2);
  EXPECT_EQ(r.top_logprobs[3].token, 4);
  EXPECT_EQ(r.top_logprobs[0].logprob, r.top_logprobs[1].logprob);
}

TEST(LogprobsTest, TopLogprobsComeFromRawLogitsNotTheEditedOnes) {
  const std::vector<float> raw = {5.0f, 1.0f, 0.0f, 4.0f};
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_logprobs = 2;
  p.logit_bias = {{2, 100.0f}};
  SequenceSampler s(p, {}, {}, 0);
  std::vector<float> x = raw;
  const SampleResult r = s.sample(x.data(), 4);
  EXPECT_EQ(r.token, 2);
  ASSERT_EQ(r.top_logprobs.size(), 2u);
  EXPECT_EQ(r.top_logprobs[0].token, 0);
  EXPECT_EQ(r.top_logprobs[1].token, 3);
}

TEST(LogprobsTest, NotRequestedMeansNotFilled) {
  SamplingParams p;
  p.seed = 1;
  SequenceSampler s(p, {}, {}, 0);
  std::vector<float> x = {0.0f, 1.0f, 2.0f};
  const SampleResult r = s.sample(x.data(), 3);
  EXPECT_EQ(r.logprob, 0.0f);
  EXPECT_TRUE(r.top_logprobs.empty());
}

}  // namespace
}  // namespace tandem::sampling
