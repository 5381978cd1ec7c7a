#include "gateway/openai/generate_request.h"

#include <gtest/gtest.h>

#include "tests/unit/openai/expect_error.h"

namespace tandem::gateway::openai {
namespace {

TEST(GenerateRequest, ParsesTextAndSglangSamplingNames) {
  auto r = parse_generate_request(R"({
    "text": "The capital of France is",
    "sampling_params": {"max_new_tokens": 16, "min_new_tokens": 2, "temperature": 0.7,
                        "top_p": 0.8, "top_k": 20, "min_p": 0.1, "frequency_penalty": 0.5,
                        "presence_penalty": -0.5, "repetition_penalty": 1.05,
                        "stop": ["."], "stop_token_ids": [2], "ignore_eos": true,
                        "skip_special_tokens": false, "n": 2, "sampling_seed": 11,
                        "unknown_knob": 1},
    "stream": true, "return_logprob": true, "top_logprobs_num": 3,
    "logprob_start_len": 0, "rid": "req-1"
  })");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const GenerateRequest& g = r.value();
  EXPECT_EQ(g.text, "The capital of France is");
  EXPECT_FALSE(g.input_ids.has_value());
  EXPECT_EQ(g.sampling.max_tokens, 16);
  EXPECT_EQ(g.sampling.min_tokens, 2);
  EXPECT_DOUBLE_EQ(*g.sampling.temperature, 0.7);
  EXPECT_DOUBLE_EQ(*g.sampling.top_p, 0.8);
  EXPECT_EQ(g.sampling.top_k, 20);
  EXPECT_DOUBLE_EQ(*g.sampling.min_p, 0.1);
  EXPECT_DOUBLE_EQ(*g.sampling.frequency_penalty, 0.5);
  EXPECT_DOUBLE_EQ(*g.sampling.presence_penalty, -0.5);
  EXPECT_DOUBLE_EQ(*g.sampling.repetition_penalty, 1.05);
  EXPECT_EQ(g.sampling.stop, std::vector<std::string>{"."});
  EXPECT_EQ(g.sampling.stop_token_ids, std::vector<int64_t>{2});
  EXPECT_TRUE(g.sampling.ignore_eos);
  EXPECT_FALSE(g.sampling.skip_special_tokens);
  EXPECT_EQ(g.sampling.n, 2);
  EXPECT_EQ(g.sampling.seed, 11);
  EXPECT_TRUE(g.stream);
  EXPECT_TRUE(g.return_logprob);
  EXPECT_EQ(g.top_logprobs_num, 3);
  EXPECT_EQ(g.logprob_start_len, 0);
  EXPECT_EQ(g.rid, "req-1");
}

TEST(GenerateRequest, InputIdsAndZeroMaxNewTokens) {
  auto r = parse_generate_request(
      R"({"input_ids":[1,2,3],"sampling_params":{"max_new_tokens":0}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->input_ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r->sampling.max_tokens, 0);
  EXPECT_FALSE(r->stream);
}

TEST(GenerateRequest, Errors) {
  EXPECT_API_ERROR(parse_generate_request("{"), 400, "invalid_json", "");
  EXPECT_API_ERROR(parse_generate_request(R"({"sampling_params":{}})"), 400, "missing_field",
                   "text");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","input_ids":[1]})"), 400,
                   "invalid_value", "text");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":5})"), 400, "invalid_type", "text");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":["a","b"]})"), 400, "unsupported_parameter",
                   "text");
  EXPECT_API_ERROR(parse_generate_request(R"({"input_ids":[[1],[2]]})"), 400,
                   "unsupported_parameter", "input_ids");
  EXPECT_API_ERROR(parse_generate_request(R"({"input_ids":"1 2"})"), 400, "invalid_type",
                   "input_ids");
  EXPECT_API_ERROR(parse_generate_request(R"({"input_ids":[]})"), 400, "invalid_value",
                   "input_ids");
  EXPECT_API_ERROR(parse_generate_request(R"({"input_ids":[1,-1]})"), 400, "invalid_value",
                   "input_ids[1]");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","sampling_params":[]})"), 400,
                   "invalid_type", "sampling_params");
  EXPECT_API_ERROR(
      parse_generate_request(R"({"text":"a","sampling_params":{"max_new_tokens":-1}})"), 400,
      "invalid_value", "sampling_params.max_new_tokens");
  EXPECT_API_ERROR(
      parse_generate_request(R"({"text":"a","sampling_params":{"temperature":"x"}})"), 400,
      "invalid_type", "sampling_params.temperature");
  EXPECT_API_ERROR(
      parse_generate_request(R"({"text":"a","sampling_params":{"stop":[1]}})"), 400,
      "invalid_type", "sampling_params.stop[0]");
  EXPECT_API_ERROR(parse_generate_request(
                       R"({"text":"a","sampling_params":{"min_new_tokens":5,"max_new_tokens":2}})"),
                   400, "invalid_value", "sampling_params.min_new_tokens");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","top_logprobs_num":21})"), 400,
                   "invalid_value", "top_logprobs_num");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","rid":7})"), 400, "invalid_type", "rid");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","stream":"true"})"), 400,
                   "invalid_type", "stream");
  EXPECT_API_ERROR(parse_generate_request(R"({"text":"a","return_logprob":1})"), 400,
                   "invalid_type", "return_logprob");
}

}  // namespace
}  // namespace tandem::gateway::openai
