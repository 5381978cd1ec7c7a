#include "worker/sampling/sampling_params.h"

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace tandem::sampling {
namespace {

constexpr int32_t kVocab = 1000;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct BadCase {
  const char* name;
  std::function<void(SamplingParams&)> mutate;
  const char* must_mention;  // field name in the message
};

TEST(SamplingParamsTest, DefaultsAreValid) {
  EXPECT_TRUE(SamplingParams{}.validate(kVocab).ok());
}

TEST(SamplingParamsTest, BoundaryValuesAreAccepted) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.top_p = 1.0f;
  p.top_k = 0;
  p.min_p = 1.0f;
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = -2.0f;
  p.presence_penalty = 2.0f;
  p.logit_bias = {{0, -100.0f}, {kVocab - 1, 100.0f}};
  p.top_logprobs = 20;
  p.max_new_tokens = 0;
  p.min_new_tokens = 0;
  p.stop_token_ids = {0, kVocab - 1};
  const Status s = p.validate(kVocab);
  EXPECT_TRUE(s.ok()) << s.to_string();
  p.top_k = -1;
  p.top_p = 1e-6f;
  p.max_new_tokens = 5;
  p.min_new_tokens = 5;
  EXPECT_TRUE(p.validate(kVocab).ok());
}

TEST(SamplingParamsTest, RejectsOutOfRangeValuesNamingTheField) {
  const BadCase cases[] = {
      {"negative temperature", [](SamplingParams& p) { p.temperature = -0.5f; }, "temperature"},
      {"NaN temperature", [](SamplingParams& p) { p.temperature = kNaN; }, "temperature"},
      {"inf temperature", [](SamplingParams& p) { p.temperature = kInf; }, "temperature"},
      {"top_p 0", [](SamplingParams& p) { p.top_p = 0.0f; }, "top_p"},
      {"top_p > 1", [](SamplingParams& p) { p.top_p = 1.01f; }, "top_p"},
      {"NaN top_p", [](SamplingParams& p) { p.top_p = kNaN; }, "top_p"},
      {"top_k -2", [](SamplingParams& p) { p.top_k = -2; }, "top_k"},
      {"min_p < 0", [](SamplingParams& p) { p.min_p = -0.1f; }, "min_p"},
      {"min_p > 1", [](SamplingParams& p) { p.min_p = 1.5f; }, "min_p"},
      {"NaN min_p", [](SamplingParams& p) { p.min_p = kNaN; }, "min_p"},
      {"repetition 0", [](SamplingParams& p) { p.repetition_penalty = 0.0f; }, "repetition_penalty"},
      {"repetition > 2", [](SamplingParams& p) { p.repetition_penalty = 2.5f; },
       "repetition_penalty"},
      {"NaN repetition", [](SamplingParams& p) { p.repetition_penalty = kNaN; },
       "repetition_penalty"},
      {"frequency < -2", [](SamplingParams& p) { p.frequency_penalty = -2.5f; },
       "frequency_penalty"},
      {"frequency > 2", [](SamplingParams& p) { p.frequency_penalty = 2.01f; },
       "frequency_penalty"},
      {"NaN frequency", [](SamplingParams& p) { p.frequency_penalty = kNaN; },
       "frequency_penalty"},
      {"presence > 2", [](SamplingParams& p) { p.presence_penalty = 3.0f; }, "presence_penalty"},
      {"NaN presence", [](SamplingParams& p) { p.presence_penalty = kNaN; }, "presence_penalty"},
      {"bias id = vocab", [](SamplingParams& p) { p.logit_bias = {{kVocab, 1.0f}}; },
       "logit_bias"},
      {"bias id < 0", [](SamplingParams& p) { p.logit_bias = {{-1, 1.0f}}; }, "logit_bias"},
      {"NaN bias", [](SamplingParams& p) { p.logit_bias = {{3, kNaN}}; }, "logit_bias"},
      {"inf bias", [](SamplingParams& p) { p.logit_bias = {{3, -kInf}}; }, "logit_bias"},
      {"top_logprobs 21", [](SamplingParams& p) { p.top_logprobs = 21; }, "top_logprobs"},
      {"top_logprobs -1", [](SamplingParams& p) { p.top_logprobs = -1; }, "top_logprobs"},
      {"max_new_tokens -1", [](SamplingParams& p) { p.max_new_tokens = -1; }, "max_new_tokens"},
      {"min_new_tokens -1", [](SamplingParams& p) { p.min_new_tokens = -1; }, "min_new_tokens"},
      {"min > max", [](SamplingParams& p) { p.min_new_tokens = p.max_new_tokens + 1; },
       "min_new_tokens"},
      {"stop id = vocab", [](SamplingParams& p) { p.stop_token_ids = {5, kVocab}; },
       "stop_token_ids"},
  };
  for (const BadCase& c : cases) {
    SamplingParams p;
    c.mutate(p);
    const Status s = p.validate(kVocab);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.must_mention), std::string::npos)
        << c.name << ": message does not name the field: " << s.message();
  }
}

TEST(SamplingParamsTest, MessagesGiveTheRangeAndTheValue) {
  SamplingParams p;
  p.top_p = 1.5f;
  EXPECT_EQ(p.validate(kVocab).message(),
            "sampling param 'top_p' must be in (0, 1] (1 disables); got 1.5");
  p = SamplingParams{};
  p.logit_bias = {{1000, 2.0f}};
  EXPECT_EQ(p.validate(kVocab).message(),
            "sampling param 'logit_bias' has token id 1000 outside the vocabulary [0, 1000)");
  p = SamplingParams{};
  p.temperature = -1.0f;
  EXPECT_NE(p.validate(kVocab).message().find("got -1"), std::string::npos);
}

TEST(SamplingParamsTest, RejectsEmptyVocabulary) {
  EXPECT_EQ(SamplingParams{}.validate(0).code(), StatusCode::kInvalidArgument);
}

TEST(SamplingParamsTest, GreedyWhenTemperatureIsTinyOrTopKIsOne) {
  SamplingParams p;
  EXPECT_FALSE(p.is_greedy());
  p.temperature = 0.0f;
  EXPECT_TRUE(p.is_greedy());
  p.temperature = 1e-7f;
  EXPECT_TRUE(p.is_greedy());
  p.temperature = 0.5f;
  p.top_k = 1;
  EXPECT_TRUE(p.is_greedy());
}

}  // namespace
}  // namespace tandem::sampling
