// Penalties, logit bias and the min_new_tokens mask change exactly the documented entries by
// exactly the documented amounts.
#include "worker/sampling/logit_editor.h"

#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "worker/sampling/sequence_sampler.h"

namespace tandem::sampling {
namespace {

constexpr float kNegInfinity = -std::numeric_limits<float>::infinity();

std::vector<float> row() { return {2.0f, -1.0f, 0.5f, -0.25f, 3.0f, 0.0f, 1.0f, -2.0f}; }

TEST(LogitEditorTest, NeutralParamsChangeNothing) {
  SamplingParams p;
  LogitEditor editor(p, std::vector<int32_t>{0, 1, 2}, {4});
  editor.on_accept(3);
  std::vector<float> x = row();
  EditLog log;
  editor.apply(x.data(), 8, 1, &log);
  EXPECT_EQ(x, row());
  EXPECT_TRUE(log.empty());
}

TEST(LogitEditorTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOverPromptAndOutput) {
  SamplingParams p;
  p.repetition_penalty = 1.5f;
  const std::vector<int32_t> prompt = {0, 1, 1, 5};
  LogitEditor editor(p, prompt, {});
  editor.on_accept(2);
  editor.on_accept(0);
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 2, nullptr);
  const std::vector<float> r = row();
  EXPECT_FLOAT_EQ(x[0], r[0] / 1.5f);  // prompt and generated: still penalized once
  EXPECT_FLOAT_EQ(x[1], r[1] * 1.5f);  // negative: pushed further down, once despite repeats
  EXPECT_FLOAT_EQ(x[2], r[2] / 1.5f);  // generated only
  EXPECT_EQ(x[5], 0.0f);               // zero stays zero
  for (int i : {3, 4, 6, 7}) EXPECT_EQ(x[i], r[i]) << i;
}

TEST(LogitEditorTest, RepetitionPenaltyBelowOneRewardsRepeats) {
  SamplingParams p;
  p.repetition_penalty = 0.5f;
  LogitEditor editor(p, std::vector<int32_t>{0, 1}, {});
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 0, nullptr);
  EXPECT_FLOAT_EQ(x[0], 4.0f);
  EXPECT_FLOAT_EQ(x[1], -0.5f);
}

TEST(LogitEditorTest, FrequencyAndPresenceCountGeneratedTokensOnly) {
  SamplingParams p;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  LogitEditor editor(p, std::vector<int32_t>{6, 6, 6}, {});  // prompt tokens do not count
  for (int32_t t : {3, 3, 3, 4}) editor.on_accept(t);
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 4, nullptr);
  const std::vector<float> r = row();
  EXPECT_FLOAT_EQ(x[3], r[3] - 3 * 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(x[4], r[4] - 1 * 0.5f - 0.25f);
  EXPECT_EQ(x[6], r[6]);
  for (int i : {0, 1, 2, 5, 7}) EXPECT_EQ(x[i], r[i]) << i;
}

TEST(LogitEditorTest, NegativePenaltiesEncourageRepeats) {
  SamplingParams p;
  p.frequency_penalty = -1.0f;
  p.presence_penalty = -2.0f;
  LogitEditor editor(p, {}, {});
  editor.on_accept(7);
  editor.on_accept(7);
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 2, nullptr);
  EXPECT_FLOAT_EQ(x[7], -2.0f + 2.0f + 2.0f);
}

TEST(LogitEditorTest, BiasIsAddedAfterPenalties) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 1.0f;
  p.logit_bias = {{0, 1.0f}, {7, 10.0f}, {0, 0.5f}};
  LogitEditor editor(p, std::vector<int32_t>{0}, {});
  editor.on_accept(0);
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 1, nullptr);
  // (2 / 2) - 1 + 1 + 0.5: the penalties read the model's logit, the bias lands on top.
  EXPECT_FLOAT_EQ(x[0], 1.5f);
  EXPECT_FLOAT_EQ(x[7], 8.0f);
  EXPECT_EQ(x[1], -1.0f);
}

TEST(LogitEditorTest, MinNewTokensMasksEosAndStopIdsUntilReached) {
  SamplingParams p;
  p.min_new_tokens = 2;
  p.stop_token_ids = {6};
  LogitEditor editor(p, {}, {4, 5});
  for (int32_t step : {0, 1}) {
    std::vector<float> x = row();
    editor.apply(x.data(), 8, step, nullptr);
    EXPECT_EQ(x[4], kNegInfinity);
    EXPECT_EQ(x[5], kNegInfinity);
    EXPECT_EQ(x[6], kNegInfinity);
    EXPECT_EQ(x[0], 2.0f);
  }
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 2, nullptr);
  EXPECT_EQ(x, row());
}

TEST(LogitEditorTest, IgnoreEosNeitherMasksNorStopsOnEosButKeepsStopIds) {
  SamplingParams p;
  p.min_new_tokens = 3;
  p.ignore_eos = true;
  p.stop_token_ids = {6};
  LogitEditor editor(p, {}, {4});
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 0, nullptr);
  EXPECT_EQ(x[4], 3.0f);
  EXPECT_EQ(x[6], kNegInfinity);
  EXPECT_FALSE(editor.is_stop_token(4));
  EXPECT_TRUE(editor.is_stop_token(6));
}

TEST(LogitEditorTest, LogRecordsValuesBeforeTheFirstEdit) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.logit_bias = {{0, 1.0f}};
  LogitEditor editor(p, std::vector<int32_t>{0}, {});
  std::vector<float> x = row();
  EditLog log;
  editor.apply(x.data(), 8, 0, &log);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], (std::pair<int32_t, float>{0, 2.0f}));
  EXPECT_EQ(log[1], (std::pair<int32_t, float>{0, 1.0f}));
}

TEST(LogitEditorTest, IdsOutsideTheRowAreIgnored) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  LogitEditor editor(p, std::vector<int32_t>{100, -1, 1}, {});
  std::vector<float> x = row();
  editor.apply(x.data(), 8, 0, nullptr);
  EXPECT_FLOAT_EQ(x[1], -2.0f);
}

TEST(SequenceSamplerEditsTest, SampleAppliesTheEditsInPlaceAndBiasSteersGreedy) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.logit_bias = {{7, 6.0f}};
  p.repetition_penalty = 2.0f;
  SequenceSampler sampler(p, std::vector<int32_t>{4}, {}, 0);
  std::vector<float> x = row();
  // 3 / 2 = 1.5 for token 4; -2 + 6 = 4 for token 7: the bias makes 7 the argmax.
  EXPECT_EQ(sampler.sample(x.data(), 8).token, 7);
  EXPECT_FLOAT_EQ(x[4], 1.5f);
  EXPECT_FLOAT_EQ(x[7], 4.0f);
  sampler.accept(7);
  x = row();
  // Now 7 is a repeat too: -2 * 2 + 6 = 2, tied with token 0's 2: the lowest id wins.
  EXPECT_EQ(sampler.sample(x.data(), 8).token, 0);
  EXPECT_FLOAT_EQ(x[7], 2.0f);
}

}  // namespace
}  // namespace tandem::sampling
