#include "gateway/openai/completion_request.h"

#include <gtest/gtest.h>

#include "tests/unit/openai/expect_error.h"

namespace tandem::gateway::openai {
namespace {

TEST(CompletionRequest, ParsesFields) {
  auto r = parse_completion_request(R"({
    "model": "smol", "prompt": "Once upon", "echo": true, "stream": true,
    "stream_options": {"include_usage": true}, "max_tokens": 7, "temperature": 0,
    "top_p": 1, "top_k": -1, "stop": "\n", "seed": 3, "n": 2, "logprobs": 5,
    "user": "u", "suffix": null, "best_of": 2, "ignore_eos": true
  })");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const CompletionRequest& c = r.value();
  EXPECT_EQ(c.model, "smol");
  ASSERT_EQ(c.prompts.size(), 1u);
  EXPECT_FALSE(c.prompts[0].is_tokens);
  EXPECT_EQ(c.prompts[0].text, "Once upon");
  EXPECT_TRUE(c.echo);
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_EQ(c.sampling.max_tokens, 7);
  EXPECT_DOUBLE_EQ(*c.sampling.temperature, 0);
  EXPECT_EQ(c.sampling.top_k, -1);
  EXPECT_EQ(c.sampling.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(c.sampling.seed, 3);
  EXPECT_EQ(c.sampling.n, 2);
  EXPECT_EQ(c.logprobs, 5);
  EXPECT_EQ(c.user, "u");
  EXPECT_TRUE(c.sampling.ignore_eos);
}

TEST(CompletionRequest, PromptForms) {
  auto strings = parse_completion_request(R"({"prompt":["a","b"]})");
  ASSERT_TRUE(strings.ok());
  ASSERT_EQ(strings->prompts.size(), 2u);
  EXPECT_EQ(strings->prompts[1].text, "b");
  EXPECT_FALSE(strings->logprobs.has_value());

  auto ids = parse_completion_request(R"({"prompt":[1,2,3]})");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->prompts.size(), 1u);
  EXPECT_TRUE(ids->prompts[0].is_tokens);
  EXPECT_EQ(ids->prompts[0].token_ids, (std::vector<int32_t>{1, 2, 3}));

  auto batches = parse_completion_request(R"({"prompt":[[1],[4,5]]})");
  ASSERT_TRUE(batches.ok());
  ASSERT_EQ(batches->prompts.size(), 2u);
  EXPECT_EQ(batches->prompts[1].token_ids, (std::vector<int32_t>{4, 5}));
}

// Batches are capped at kMaxPrompts prompts and kMaxCompletionChoices choices (prompts x n); the
// limits themselves are accepted.
TEST(CompletionRequest, BatchLimits) {
  auto prompts_json = [](int count) {
    std::string s = "[";
    for (int i = 0; i < count; ++i) s += (i ? ",\"p" : "\"p") + std::to_string(i) + "\"";
    return s + "]";
  };
  auto at_limit = parse_completion_request(R"({"prompt":)" + prompts_json(kMaxPrompts) + "}");
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->prompts.size(), static_cast<size_t>(kMaxPrompts));
  EXPECT_EQ(at_limit->prompts[kMaxPrompts - 1].text, "p63");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":)" + prompts_json(kMaxPrompts + 1) + "}"), 400,
                   "invalid_value", "prompt");
  // 8 prompts x n=16 = 128 choices: allowed; 9 x 16 = 144: refused, naming n.
  auto full = parse_completion_request(R"({"n":16,"prompt":)" + prompts_json(8) + "}");
  ASSERT_TRUE(full.ok()) << full.error().message;
  auto over = parse_completion_request(R"({"n":16,"prompt":)" + prompts_json(9) + "}");
  EXPECT_API_ERROR(over, 400, "invalid_value", "n");
  EXPECT_NE(over.error().message.find("144"), std::string::npos) << over.error().message;
  // Token-id batches count the same way.
  EXPECT_API_ERROR(parse_completion_request(R"({"n":16,"prompt":[[1],[2],[3],[4],[5],[6],[7],[8],[9]]})"), 400,
                   "invalid_value", "n");
}

TEST(CompletionRequest, Errors) {
  EXPECT_API_ERROR(parse_completion_request("nope"), 400, "invalid_json", "");
  EXPECT_API_ERROR(parse_completion_request(R"({"model":"m"})"), 400, "missing_field", "prompt");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":5})"), 400, "invalid_type", "prompt");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":[]})"), 400, "invalid_value", "prompt");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":["a",1]})"), 400, "invalid_type",
                   "prompt[1]");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":[1,"a"]})"), 400, "invalid_type",
                   "prompt[1]");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":[1,-2]})"), 400, "invalid_value",
                   "prompt[1]");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":[[1],[2,"x"]]})"), 400, "invalid_type",
                   "prompt[1][1]");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":[[1],[]]})"), 400, "invalid_value",
                   "prompt[1]");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","suffix":"b"})"), 400,
                   "unsupported_parameter", "suffix");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","logprobs":6})"), 400,
                   "invalid_value", "logprobs");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","logprobs":true})"), 400,
                   "invalid_type", "logprobs");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","echo":"y"})"), 400, "invalid_type",
                   "echo");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","temperature":3})"), 400,
                   "invalid_value", "temperature");
  EXPECT_API_ERROR(parse_completion_request(R"({"prompt":"a","best_of":3})"), 400,
                   "unsupported_parameter", "best_of");
}

}  // namespace
}  // namespace tandem::gateway::openai
