// Exact supports of top-k / top-p / min-p, including the boundary cases of their definitions.
#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"

namespace tandem::sampling {
namespace {

std::set<int32_t> support(SamplingParams params, const std::vector<float>& logits,
                          int64_t draws = 4000) {
  const auto counts = testing::draw_counts(params, logits, draws, 99);
  std::set<int32_t> seen;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) seen.insert(static_cast<int32_t>(i));
  }
  return seen;
}

std::set<int32_t> reference_support(const std::vector<float>& logits, double t, int32_t top_k,
                                    double top_p, double min_p) {
  const auto q = testing::truncated_distribution(logits, t, top_k, top_p, min_p);
  std::set<int32_t> ids;
  for (size_t i = 0; i < q.size(); ++i) {
    if (q[i] > 0.0) ids.insert(static_cast<int32_t>(i));
  }
  return ids;
}

// Probabilities 0.5 (id 2), 0.3 (id 0), 0.15 (id 3), 0.05 (id 1) at temperature 1.
const std::vector<float> kFour = {std::log(0.3f), std::log(0.05f), std::log(0.5f),
                                  std::log(0.15f)};

SamplingParams with_top_p(float top_p) {
  SamplingParams p;
  p.top_p = top_p;
  return p;
}

TEST(TopKTest, KeepsTheKBest) {
  SamplingParams p;
  p.top_k = 3;
  EXPECT_EQ(support(p, {5.0f, 1.0f, 4.0f, 2.0f, 3.0f}), (std::set<int32_t>{0, 2, 4}));
}

TEST(TopKTest, TiesAtTheBoundaryGoToTheLowestIds) {
  SamplingParams p;
  p.top_k = 2;
  EXPECT_EQ(support(p, {1.0f, 3.0f, 3.0f, 3.0f, 0.0f}), (std::set<int32_t>{1, 2}));
}

TEST(TopKTest, LargerThanVocabularyOrDisabledKeepsAll) {
  SamplingParams p;
  p.top_k = 1000;
  EXPECT_EQ(support(p, kFour).size(), 4u);
  p.top_k = 0;
  EXPECT_EQ(support(p, kFour).size(), 4u);
  p.top_k = -1;
  EXPECT_EQ(support(p, kFour).size(), 4u);
}

TEST(TopKTest, MaskedTokensAreNeverDrawnEvenInsideK) {
  const float inf = std::numeric_limits<float>::infinity();
  SamplingParams p;
  p.top_k = 3;
  EXPECT_EQ(support(p, {0.0f, -inf, -inf, 1.0f}), (std::set<int32_t>{0, 3}));
}

TEST(TopPTest, KeepsTheShortestPrefixWhoseMassReachesP) {
  EXPECT_EQ(support(with_top_p(0.49f), kFour), (std::set<int32_t>{2}));
  EXPECT_EQ(support(with_top_p(0.51f), kFour), (std::set<int32_t>{0, 2}));
  EXPECT_EQ(support(with_top_p(0.79f), kFour), (std::set<int32_t>{0, 2}));
  EXPECT_EQ(support(with_top_p(0.81f), kFour), (std::set<int32_t>{0, 2, 3}));
  EXPECT_EQ(support(with_top_p(0.94f), kFour), (std::set<int32_t>{0, 2, 3}));
  EXPECT_EQ(support(with_top_p(0.96f), kFour), (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(support(with_top_p(1.0f), kFour), (std::set<int32_t>{0, 1, 2, 3}));
}

TEST(TopPTest, AlwaysKeepsAtLeastTheBestToken) {
  EXPECT_EQ(support(with_top_p(1e-6f), kFour), (std::set<int32_t>{2}));
  // A flat row: the best token is the lowest id.
  EXPECT_EQ(support(with_top_p(1e-6f), std::vector<float>(1000, 0.25f)), (std::set<int32_t>{0}));
}

TEST(TopPTest, IsJudgedAfterTemperature) {
  // At T = 0.5 the probabilities sharpen to about 0.70, 0.25, 0.06, 0.007: 0.9 needs two tokens.
  SamplingParams p = with_top_p(0.9f);
  p.temperature = 0.5f;
  EXPECT_EQ(support(p, kFour), reference_support(kFour, 0.5, 0, 0.9, 0.0));
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2}));
}

TEST(MinPTest, KeepsTokensWithinTheRatioOfTheTopProbability) {
  SamplingParams p;
  p.min_p = 0.5f;  // p >= 0.25
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2}));
  p.min_p = 0.29f;  // p >= 0.145
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2, 3}));
  p.min_p = 0.09f;  // p >= 0.045
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 1, 2, 3}));
  p.min_p = 1.0f;  // only the top (and exact ties with it)
  EXPECT_EQ(support(p, {1.0f, 3.0f, 2.0f, 3.0f}), (std::set<int32_t>{1, 3}));
}

TEST(JointTruncationTest, TheShortestOfTheThreePrefixesWins) {
  SamplingParams p;
  p.top_k = 3;
  p.top_p = 0.79f;  // 2 tokens
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2}));
  p.top_k = 1;
  p.temperature = 1.0f;
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{2}));
  p.top_k = 3;
  p.top_p = 0.99f;  // top-k decides: 3 tokens
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2, 3}));
  p.min_p = 0.5f;  // min-p decides: 2 tokens
  EXPECT_EQ(support(p, kFour), (std::set<int32_t>{0, 2}));
}

TEST(TopPTest, LargeVocabularyNucleusBeyondTheFirstGuess) {
  // A nucleus of a few hundred tokens among 20,000: more than the first 64-candidate guess.
  // 400 tokens lifted by +7 hold ~96% of the mass; the nucleus at 0.9 is most of them.
  std::vector<float> row = testing::random_logits(20000, 77, 1.0f);
  for (int32_t i = 0; i < 400; ++i) row[(i * 7919) % 20000] += 7.0f;
  SamplingParams p = with_top_p(0.9f);
  const std::set<int32_t> want = reference_support(row, 1.0, 0, 0.9, 0.0);
  ASSERT_GT(want.size(), 200u);
  ASSERT_LT(want.size(), 1024u);
  const std::set<int32_t> got = support(p, row, 3000);
  for (int32_t id : got) EXPECT_TRUE(want.count(id)) << "token " << id << " is outside the nucleus";
  // Draws reach well past the 64 best, i.e. the guess was grown rather than truncating there.
  const std::vector<int32_t> order = testing::ranked(row);
  size_t deepest = 0;
  for (size_t r = 0; r < order.size(); ++r) {
    if (got.count(order[r])) deepest = r;
  }
  EXPECT_GT(deepest, 128u);
}

}  // namespace
}  // namespace tandem::sampling
