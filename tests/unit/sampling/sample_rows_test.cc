// The sampling path for logits that stay on a device: SequenceSampler::describe_step + the host
// version of Backend::sample_rows + take_result must agree with SequenceSampler::sample() on greedy
// tokens and logprobs (edits included), and draw from the same distributions (chi-square, as
// distribution_test.cc does for the host drawer). The CUDA kernel is checked against the same host
// version on the GPU machine (tests/kernels/cuda_ops_test.cc).
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/sample_rows.h"
#include "sampling_test_util.h"

namespace tandem::sampling {
namespace {

using kernels::LogitEdit;
using kernels::SampledToken;
using kernels::SampleRow;

// One step through the rows path; logits is a copy (the call edits it).
SampleResult rows_step(SequenceSampler& s, std::vector<float> logits) {
  SampleRow row;
  std::vector<LogitEdit> edits;
  EXPECT_TRUE(s.describe_step(static_cast<int32_t>(logits.size()), row, edits));
  row.logit_row = 0;
  SampledToken out;
  kernels::sample_rows_host(logits.data(), static_cast<int64_t>(logits.size()), &row, 1, edits.data(), &out);
  return s.take_result(out);
}

std::vector<int64_t> rows_counts(SamplingParams params, const std::vector<float>& logits, int64_t n) {
  params.seed = 99;
  params.max_new_tokens = std::numeric_limits<int32_t>::max();
  SequenceSampler s(params, {}, {}, 0);
  std::vector<int64_t> counts(logits.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = rows_step(s, logits).token;
    ++counts.at(t);
    s.accept(t);
  }
  return counts;
}

void expect_fits(const testing::ChiSquare& r, const char* what) {
  EXPECT_LT(r.statistic, r.critical) << what << ": chi2 = " << r.statistic << " with " << r.degrees_of_freedom
                                     << " dof";
  EXPECT_EQ(r.mass_outside, 0.0) << what << ": draws outside the allowed support";
}

TEST(SampleRowsTest, GreedyTokensAndLogprobsMatchTheHostSamplerWithEveryEdit) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.return_logprob = true;
  p.repetition_penalty = 1.3f;
  p.frequency_penalty = 0.4f;
  p.presence_penalty = 0.2f;
  p.logit_bias = {{7, 3.0f}, {11, -2.5f}};
  p.min_new_tokens = 3;
  p.stop_token_ids = {5};
  p.max_new_tokens = 1000;
  const std::vector<int32_t> prompt = {1, 2, 3, 7, 40};
  SequenceSampler host(p, prompt, {0}, 1), rows(p, prompt, {0}, 1);
  for (int step = 0; step < 40; ++step) {
    std::vector<float> logits = testing::random_logits(300, 100 + step, 2.0f);
    logits[5] = logits[0] = 50.0f;  // stop ids: masked for the first 3 steps, then they win
    if (step >= 3) logits[5] = logits[0] = -50.0f;
    std::vector<float> copy = logits;
    const SampleResult a = host.sample(copy.data(), 300);
    const SampleResult b = rows_step(rows, logits);
    ASSERT_EQ(a.token, b.token) << "step " << step;
    EXPECT_NEAR(a.logprob, b.logprob, 1e-5) << "step " << step;
    host.accept(a.token);
    rows.accept(b.token);
  }
}

TEST(SampleRowsTest, TopLogprobsAskForTheHostPath) {
  SamplingParams p;
  p.top_logprobs = 2;
  SequenceSampler s(p, {}, {}, 1);
  SampleRow row;
  std::vector<LogitEdit> edits;
  EXPECT_FALSE(s.describe_step(10, row, edits));
  EXPECT_TRUE(edits.empty());
}

TEST(SampleRowsTest, DrawsFollowTheTruncatedDistributions) {
  const std::vector<float> row = testing::random_logits(400, 5, 1.5f);
  struct Case {
    float t;
    int32_t k;
    float p, min_p;
  };
  for (const Case& c : {Case{1.0f, 0, 1.0f, 0.0f}, Case{0.7f, 8, 1.0f, 0.0f}, Case{1.2f, 0, 0.8f, 0.0f},
                        Case{1.0f, 0, 1.0f, 0.05f}, Case{0.9f, 20, 0.9f, 0.02f}}) {
    SamplingParams p;
    p.temperature = c.t;
    p.top_k = c.k;
    p.top_p = c.p;
    p.min_p = c.min_p;
    const auto counts = rows_counts(p, row, 60000);
    expect_fits(testing::chi_square(counts, testing::truncated_distribution(row, c.t, c.k, c.p, c.min_p)),
                "rows path");
  }
}

TEST(SampleRowsTest, ChiSquareDetectsAWrongTopP) {
  const std::vector<float> row = testing::random_logits(400, 5, 1.5f);
  SamplingParams p;
  p.top_p = 0.8f;
  const auto counts = rows_counts(p, row, 60000);
  const testing::ChiSquare r = testing::chi_square(counts, testing::truncated_distribution(row, 1.0, 0, 0.7, 0.0));
  EXPECT_TRUE(r.statistic > r.critical || r.mass_outside > 0.0);
}

TEST(SampleRowsTest, TopKInsideATieKeepsTheLowestIds) {
  // Ten tokens tie for the best logit; top-k = 3 keeps ids 2, 4, 6 (the lowest three of the tie).
  std::vector<float> logits(64, -5.0f);
  for (int32_t id = 2; id < 22; id += 2) logits[id] = 1.0f;
  SamplingParams p;
  p.top_k = 3;
  const auto counts = rows_counts(p, logits, 3000);
  for (int32_t id = 0; id < 64; ++id) {
    if (id == 2 || id == 4 || id == 6) {
      EXPECT_GT(counts[id], 800) << id;
    } else {
      EXPECT_EQ(counts[id], 0) << id;
    }
  }
}

TEST(SampleRowsTest, SameSeedSameTokensWhateverTheBatch) {
  SamplingParams p;
  p.seed = 7;
  p.top_p = 0.95f;
  const std::vector<float> row = testing::random_logits(1000, 9, 2.0f);
  // The row alone, then as the third row of a batch of four with other requests' rows around it.
  SequenceSampler alone(p, {}, {}, 0), batched(p, {}, {}, 0);
  std::vector<float> batch;
  for (int i = 0; i < 4; ++i) {
    const std::vector<float> other = testing::random_logits(1000, 50 + i, 2.0f);
    batch.insert(batch.end(), (i == 2 ? row : other).begin(), (i == 2 ? row : other).end());
  }
  for (int step = 0; step < 20; ++step) {
    std::vector<SampleRow> rows(4);
    std::vector<LogitEdit> edits;
    SamplingParams other = p;
    std::vector<SequenceSampler> others;
    for (int i = 0; i < 4; ++i) {
      other.seed = 1000 + i + step;
      others.emplace_back(other, std::vector<int32_t>{}, std::vector<int32_t>{}, 0);
    }
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE((i == 2 ? batched : others[i]).describe_step(1000, rows[i], edits));
      rows[i].logit_row = i;
    }
    std::vector<float> logits = batch;
    std::vector<SampledToken> out(4);
    kernels::sample_rows_host(logits.data(), 1000, rows.data(), 4, edits.data(), out.data());
    const int32_t a = rows_step(alone, row).token;
    ASSERT_EQ(a, batched.take_result(out[2]).token) << "step " << step;
    alone.accept(a);
    batched.accept(a);
  }
}

TEST(SampleRowsTest, NoUsableLogitGivesMinusOne) {
  std::vector<float> logits(16, -std::numeric_limits<float>::infinity());
  logits[3] = std::numeric_limits<float>::quiet_NaN();
  for (int32_t greedy : {0, 1}) {
    SampleRow row;
    row.greedy = greedy;
    SampledToken out;
    kernels::sample_rows_host(logits.data(), 16, &row, 1, nullptr, &out);
    EXPECT_EQ(out.token, -1);
  }
}

}  // namespace
}  // namespace tandem::sampling
