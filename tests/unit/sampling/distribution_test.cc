// Draw frequencies against the exact distributions, with Pearson's chi-square at the 1e-4 level.
// Seeds are fixed, so each test is deterministic; the "detects" tests show the statistic would
// catch a wrong temperature or a wrong truncation.
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"

namespace tandem::sampling {
namespace {

using testing::chi_square;
using testing::ChiSquare;
using testing::draw_counts;
using testing::truncated_distribution;

const std::vector<float> kSmallRow = {2.0f, 1.5f, 1.4f, 0.3f, 0.0f, -0.2f,
                                      -1.0f, -1.1f, -2.0f, 0.9f, 1.0f, -3.0f};

void expect_fits(const ChiSquare& r, const char* what) {
  EXPECT_LT(r.statistic, r.critical) << what << ": chi2 = " << r.statistic << " with "
                                     << r.degrees_of_freedom << " dof";
  EXPECT_EQ(r.mass_outside, 0.0) << what << ": draws outside the allowed support";
}

TEST(DistributionTest, TemperatureMatchesSoftmaxOfScaledLogits) {
  for (float t : {0.5f, 1.0f, 1.7f}) {
    SamplingParams p;
    p.temperature = t;
    const auto counts = draw_counts(p, kSmallRow, 100000);
    expect_fits(chi_square(counts, testing::softmax(kSmallRow, t)), "temperature");
  }
}

TEST(DistributionTest, ChiSquareDetectsAWrongTemperature) {
  SamplingParams p;
  p.temperature = 1.0f;
  const auto counts = draw_counts(p, kSmallRow, 100000);
  const ChiSquare r = chi_square(counts, testing::softmax(kSmallRow, 1.2));
  EXPECT_GT(r.statistic, r.critical);
}

TEST(DistributionTest, FullVocabularyDrawAcrossSeveralBlocks) {
  // 700 tokens = 3 blocks of the block-sum walk, the last one partial.
  const std::vector<float> row = testing::random_logits(700, 21, 1.0f);
  SamplingParams p;
  p.temperature = 1.3f;
  const auto counts = draw_counts(p, row, 200000);
  expect_fits(chi_square(counts, testing::softmax(row, 1.3)), "full vocabulary");
}

TEST(DistributionTest, TopKRenormalizesOverTheKBest) {
  const std::vector<float> row = testing::random_logits(50, 3, 1.0f);
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 5;
  const auto counts = draw_counts(p, row, 50000);
  expect_fits(chi_square(counts, truncated_distribution(row, 0.8, 5, 1.0, 0.0)), "top-k");
}

TEST(DistributionTest, TopPRenormalizesOverTheNucleus) {
  const std::vector<float> row = testing::random_logits(300, 4, 1.5f);
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.7f;
  const auto counts = draw_counts(p, row, 60000);
  const auto want = truncated_distribution(row, 0.9, 0, 0.7, 0.0);
  expect_fits(chi_square(counts, want), "top-p");
  // The same counts do not fit the untruncated softmax (the tail was never drawn).
  const ChiSquare untruncated = chi_square(counts, testing::softmax(row, 0.9));
  EXPECT_GT(untruncated.statistic, untruncated.critical);
  int32_t support = 0;
  for (double q : want) support += q > 0.0;
  EXPECT_GT(support, 1);
  EXPECT_LT(support, 300);
}

TEST(DistributionTest, MinPRenormalizesOverTokensNearTheTop) {
  const std::vector<float> row = testing::random_logits(200, 5, 1.0f);
  SamplingParams p;
  p.min_p = 0.2f;
  const auto counts = draw_counts(p, row, 60000);
  expect_fits(chi_square(counts, truncated_distribution(row, 1.0, 0, 1.0, 0.2)), "min-p");
}

TEST(DistributionTest, JointTopKTopPMinP) {
  const std::vector<float> row = testing::random_logits(400, 6, 1.2f);
  SamplingParams p;
  p.temperature = 0.7f;
  p.top_k = 40;
  p.top_p = 0.8f;
  p.min_p = 0.05f;
  const auto counts = draw_counts(p, row, 60000);
  expect_fits(chi_square(counts, truncated_distribution(row, 0.7, 40, 0.8, 0.05)), "joint");
}

TEST(DistributionTest, FlatRowWhoseNucleusExceedsTheCandidateGuesses) {
  // ~1,150 of 1,600 tokens in the nucleus: more than the 64 and 1024 candidate guesses, so the
  // pool grows to the whole row before the weighted quickselect cuts it.
  const std::vector<float> row = testing::random_logits(1600, 9, 0.3f);
  SamplingParams p;
  p.top_p = 0.75f;
  const auto want = truncated_distribution(row, 1.0, 0, 0.75, 0.0);
  int32_t support = 0;
  for (double q : want) support += q > 0.0;
  ASSERT_GT(support, 1024);
  const auto counts = draw_counts(p, row, 20000);
  expect_fits(chi_square(counts, want), "flat top-p");
}

TEST(DistributionTest, ChiSquareDetectsAWrongTruncation) {
  const std::vector<float> row = testing::random_logits(300, 4, 1.5f);
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.7f;
  const auto counts = draw_counts(p, row, 60000);
  // Judged against the nucleus of a different top_p, the draws fall outside or misfit.
  const ChiSquare r = chi_square(counts, truncated_distribution(row, 0.9, 0, 0.5, 0.0));
  EXPECT_TRUE(r.mass_outside > 0.0 || r.statistic > r.critical);
}

}  // namespace
}  // namespace tandem::sampling
