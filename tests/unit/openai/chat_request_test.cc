#include "gateway/openai/chat_request.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/unit/openai/expect_error.h"

namespace tandem::gateway::openai {
namespace {

// A valid minimal request with `extra` merged in (a JSON object's members as text).
std::string req(const std::string& extra = "") {
  std::string base = R"({"model":"m","messages":[{"role":"user","content":"hi"}])";
  return extra.empty() ? base + "}" : base + "," + extra + "}";
}

TEST(ChatRequest, ParsesEveryField) {
  auto r = parse_chat_request(R"({
    "model": "smol",
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "developer",
       "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "user", "content": "hi", "name": "bob"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "get", "arguments": "{\"x\":1}"}}]},
      {"role": "tool", "content": "42", "tool_call_id": "call_1"},
      {"role": "assistant", "content": "The answer"}
    ],
    "stream": true, "stream_options": {"include_usage": true},
    "n": 3, "stop": ["a", "b"], "seed": -7, "logprobs": true, "top_logprobs": 20,
    "max_tokens": 10, "max_completion_tokens": 12, "temperature": 0.5, "top_p": 0.9,
    "top_k": 40, "min_p": 0.05, "frequency_penalty": -2, "presence_penalty": 2,
    "repetition_penalty": 1.1, "logit_bias": {"17": -100, "5": 2.5},
    "tools": [{"type": "function", "function": {"name": "get", "description": "d",
               "parameters": {"type": "object"}, "strict": true}}],
    "tool_choice": {"type": "function", "function": {"name": "get"}},
    "parallel_tool_calls": false,
    "response_format": {"type": "json_object"},
    "continue_final_message": true,
    "ignore_eos": true, "min_tokens": 2, "skip_special_tokens": false, "user": "u1",
    "chat_template_kwargs": {"enable_thinking": false}, "separate_reasoning": false,
    "stop_token_ids": [2, 3],
    "some_future_field": {"ignored": true}
  })");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ChatCompletionRequest& c = r.value();
  EXPECT_EQ(c.model, "smol");
  ASSERT_EQ(c.messages.size(), 6u);
  EXPECT_EQ(c.messages[1].at("content").as_array().size(), 2u);
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
  EXPECT_EQ(c.sampling.n, 3);
  EXPECT_EQ(c.sampling.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.sampling.seed, -7);
  EXPECT_TRUE(c.logprobs);
  EXPECT_EQ(c.top_logprobs, 20);
  EXPECT_EQ(c.sampling.max_tokens, 12);  // max_completion_tokens wins
  EXPECT_DOUBLE_EQ(*c.sampling.temperature, 0.5);
  EXPECT_DOUBLE_EQ(*c.sampling.top_p, 0.9);
  EXPECT_EQ(c.sampling.top_k, 40);
  EXPECT_DOUBLE_EQ(*c.sampling.min_p, 0.05);
  EXPECT_DOUBLE_EQ(*c.sampling.frequency_penalty, -2);
  EXPECT_DOUBLE_EQ(*c.sampling.presence_penalty, 2);
  EXPECT_DOUBLE_EQ(*c.sampling.repetition_penalty, 1.1);
  ASSERT_EQ(c.sampling.logit_bias.size(), 2u);
  EXPECT_EQ(c.sampling.logit_bias[0], (std::pair<int64_t, double>{17, -100}));
  EXPECT_EQ(c.sampling.logit_bias[1], (std::pair<int64_t, double>{5, 2.5}));
  ASSERT_EQ(c.tools.size(), 1u);
  EXPECT_EQ(c.tools[0].function.name, "get");
  EXPECT_EQ(c.tools[0].function.description, "d");
  EXPECT_EQ(c.tools[0].function.parameters.at("type").as_string(), "object");
  EXPECT_TRUE(c.tools[0].function.strict);
  ASSERT_TRUE(c.tool_choice.has_value());
  EXPECT_EQ(c.tool_choice->mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(c.tool_choice->function_name, "get");
  EXPECT_FALSE(c.parallel_tool_calls);
  EXPECT_EQ(c.response_format.type, ResponseFormat::Type::kJsonObject);
  EXPECT_TRUE(c.response_format.needs_grammar());
  EXPECT_TRUE(c.continue_final_message);
  EXPECT_FALSE(c.add_generation_prompt);
  EXPECT_TRUE(c.sampling.ignore_eos);
  EXPECT_EQ(c.sampling.min_tokens, 2);
  EXPECT_FALSE(c.sampling.skip_special_tokens);
  EXPECT_EQ(c.user, "u1");
  EXPECT_FALSE(c.chat_template_kwargs.at("enable_thinking").as_bool());
  EXPECT_FALSE(c.separate_reasoning);
  EXPECT_EQ(c.sampling.stop_token_ids, (std::vector<int64_t>{2, 3}));
}

TEST(ChatRequest, DefaultsWhenOnlyRequiredFieldsAreSent) {
  auto r = parse_chat_request(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ChatCompletionRequest& c = r.value();
  EXPECT_EQ(c.model, "");
  EXPECT_FALSE(c.stream);
  EXPECT_FALSE(c.include_usage);
  EXPECT_EQ(c.sampling.n, 1);
  EXPECT_FALSE(c.sampling.max_tokens.has_value());
  EXPECT_FALSE(c.sampling.temperature.has_value());
  EXPECT_FALSE(c.tool_choice.has_value());
  EXPECT_TRUE(c.add_generation_prompt);
  EXPECT_TRUE(c.sampling.skip_special_tokens);
  EXPECT_EQ(c.response_format.type, ResponseFormat::Type::kText);
  EXPECT_FALSE(c.response_format.needs_grammar());
}

TEST(ChatRequest, NullMeansAbsentAndStopMayBeAString) {
  auto r = parse_chat_request(req(R"("temperature":null,"stop":"END","max_tokens":null,"n":2.0)"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->sampling.temperature.has_value());
  EXPECT_EQ(r->sampling.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r->sampling.n, 2);
}

TEST(ChatRequest, NullAndMissingContentAreAccepted) {
  auto r = parse_chat_request(
      R"({"messages":[{"role":"user","content":null},{"role":"assistant"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(ChatRequest, ToolChoiceStrings) {
  std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  for (auto [s, mode] : {std::pair{"none", ToolChoice::Mode::kNone},
                         std::pair{"auto", ToolChoice::Mode::kAuto},
                         std::pair{"required", ToolChoice::Mode::kRequired}}) {
    auto r = parse_chat_request(req(tools + R"(,"tool_choice":")" + s + "\""));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->tool_choice->mode, mode);
  }
}

TEST(ChatRequest, ResponseFormatTextAndJsonSchema) {
  auto text = parse_chat_request(req(R"("response_format":{"type":"text"})"));
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->response_format.needs_grammar());
  auto schema = parse_chat_request(
      req(R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}})"));
  ASSERT_TRUE(schema.ok()) << schema.error().message;
  EXPECT_EQ(schema->response_format.type, ResponseFormat::Type::kJsonSchema);
  EXPECT_EQ(schema->response_format.json_schema.at("name").as_string(), "x");
  EXPECT_TRUE(schema->response_format.needs_grammar());
}

TEST(ChatRequest, BodyErrors) {
  EXPECT_API_ERROR(parse_chat_request("{not json"), 400, "invalid_json", "");
  // Invalid UTF-8 inside a string is malformed JSON, not something to pass to the tokenizer.
  EXPECT_API_ERROR(parse_chat_request("{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"),
                   400, "invalid_json", "");
  EXPECT_API_ERROR(parse_chat_request("[1,2]"), 400, "invalid_json", "");
  EXPECT_API_ERROR(parse_chat_request(R"({"model":"m"})"), 400, "missing_field", "messages");
  EXPECT_API_ERROR(parse_chat_request(R"({"messages":"hi"})"), 400, "invalid_type", "messages");
  EXPECT_API_ERROR(parse_chat_request(R"({"messages":[]})"), 400, "invalid_value", "messages");
  EXPECT_API_ERROR(parse_chat_request(req(R"("model":5)")), 400, "invalid_type", "model");
}

TEST(ChatRequest, MessageErrorsNameTheMessage) {
  auto one = [](const std::string& msg) {
    return parse_chat_request(R"({"messages":[{"role":"user","content":"ok"},)" + msg + "]}");
  };
  EXPECT_API_ERROR(one("3"), 400, "invalid_type", "messages[1]");
  EXPECT_API_ERROR(one(R"({"content":"x"})"), 400, "missing_field", "messages[1].role");
  EXPECT_API_ERROR(one(R"({"role":7})"), 400, "invalid_type", "messages[1].role");
  EXPECT_API_ERROR(one(R"({"role":"robot"})"), 400, "invalid_value", "messages[1].role");
  EXPECT_API_ERROR(one(R"({"role":"user","content":5})"), 400, "invalid_type",
                   "messages[1].content");
  EXPECT_API_ERROR(one(R"({"role":"user","content":["x"]})"), 400, "invalid_type",
                   "messages[1].content[0]");
  EXPECT_API_ERROR(one(R"({"role":"user","content":[{"type":"image_url","image_url":{}}]})"),
                   400, "unsupported_parameter", "messages[1].content[0].type");
  EXPECT_API_ERROR(one(R"({"role":"user","content":[{"type":"text"}]})"), 400, "missing_field",
                   "messages[1].content[0].text");
  EXPECT_API_ERROR(one(R"({"role":"user","tool_calls":[]})"), 400, "invalid_value",
                   "messages[1].tool_calls");
  EXPECT_API_ERROR(one(R"({"role":"assistant","tool_calls":{}})"), 400, "invalid_type",
                   "messages[1].tool_calls");
  EXPECT_API_ERROR(one(R"({"role":"assistant","tool_calls":[{"id":"a","type":"function"}]})"),
                   400, "missing_field", "messages[1].tool_calls[0].function");
  EXPECT_API_ERROR(
      one(R"({"role":"assistant",)"
          R"("tool_calls":[{"type":"function","function":{"arguments":"{}"}}]})"),
      400, "missing_field", "messages[1].tool_calls[0].function.name");
  EXPECT_API_ERROR(one(R"({"role":"tool","content":"x","tool_call_id":1})"), 400,
                   "invalid_type", "messages[1].tool_call_id");
}

TEST(ChatRequest, TypeErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("stream":"yes")", "stream"},
      {R"("stream_options":{"include_usage":1})", "stream_options.include_usage"},
      {R"("stream_options":true)", "stream_options"},
      {R"("n":1.5)", "n"},
      {R"("stop":5)", "stop"},
      {R"("stop":["a",1])", "stop[1]"},
      {R"("seed":"1")", "seed"},
      {R"("logprobs":1)", "logprobs"},
      {R"("top_logprobs":"2")", "top_logprobs"},
      {R"("max_tokens":"10")", "max_tokens"},
      {R"("max_completion_tokens":1.5)", "max_completion_tokens"},
      {R"("temperature":"hot")", "temperature"},
      {R"("top_p":[1])", "top_p"},
      {R"("top_k":0.5)", "top_k"},
      {R"("min_p":true)", "min_p"},
      {R"("frequency_penalty":"0")", "frequency_penalty"},
      {R"("presence_penalty":{})", "presence_penalty"},
      {R"("repetition_penalty":"1")", "repetition_penalty"},
      {R"("logit_bias":[1])", "logit_bias"},
      {R"("logit_bias":{"5":"x"})", "logit_bias.5"},
      {R"("tools":{})", "tools"},
      {R"("tools":[5])", "tools[0]"},
      {R"("tools":[{"type":"function","function":{"name":"f","parameters":"x"}}])",
       "tools[0].function.parameters"},
      {R"("tool_choice":5)", "tool_choice"},
      {R"("response_format":"json")", "response_format"},
      {R"("continue_final_message":"y")", "continue_final_message"},
      {R"("add_generation_prompt":0)", "add_generation_prompt"},
      {R"("ignore_eos":"no")", "ignore_eos"},
      {R"("min_tokens":"1")", "min_tokens"},
      {R"("skip_special_tokens":1)", "skip_special_tokens"},
      {R"("user":1)", "user"},
      {R"("chat_template_kwargs":[])", "chat_template_kwargs"},
      {R"("separate_reasoning":"t")", "separate_reasoning"},
      {R"("stop_token_ids":["a"])", "stop_token_ids[0]"},
      {R"("parallel_tool_calls":1)", "parallel_tool_calls"},
  };
  for (const auto& [extra, param] : cases) {
    SCOPED_TRACE(extra);
    EXPECT_API_ERROR(parse_chat_request(req(extra)), 400, "invalid_type", param);
  }
}

TEST(ChatRequest, RangeErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"("n":0)", "n"},
      {R"("n":17)", "n"},
      {R"("top_logprobs":21)", "top_logprobs"},
      {R"("top_logprobs":-1)", "top_logprobs"},
      {R"("top_logprobs":2)", "top_logprobs"},  // without logprobs: true
      {R"("max_tokens":0)", "max_tokens"},
      {R"("max_completion_tokens":-5)", "max_completion_tokens"},
      {R"("temperature":-0.1)", "temperature"},
      {R"("temperature":2.01)", "temperature"},
      {R"("top_p":0)", "top_p"},
      {R"("top_p":1.5)", "top_p"},
      {R"("top_k":-2)", "top_k"},
      {R"("min_p":1.1)", "min_p"},
      {R"("frequency_penalty":-2.5)", "frequency_penalty"},
      {R"("presence_penalty":2.5)", "presence_penalty"},
      {R"("repetition_penalty":0)", "repetition_penalty"},
      {R"("repetition_penalty":2.5)", "repetition_penalty"},
      {R"("logit_bias":{"5":101})", "logit_bias.5"},
      {R"("logit_bias":{"abc":1})", "logit_bias.abc"},
      {R"("logit_bias":{"-3":1})", "logit_bias.-3"},
      {R"("min_tokens":-1)", "min_tokens"},
      {R"("min_tokens":20,"max_tokens":10)", "min_tokens"},
      {R"("stop_token_ids":[-1])", "stop_token_ids[0]"},
      {R"("tools":[{"type":"retrieval","function":{"name":"f"}}])", "tools[0].type"},
      {R"("tools":[{"type":"function","function":{"name":""}}])", "tools[0].function.name"},
      {R"("tool_choice":"sometimes")", "tool_choice"},
      {R"("tool_choice":"required")", "tool_choice"},  // no tools
      {R"("tools":[{"type":"function","function":{"name":"f"}}],)"
       R"("tool_choice":{"type":"function","function":{"name":"g"}})",
       "tool_choice.function.name"},
      {R"("response_format":{"type":"yaml"})", "response_format.type"},
      {R"("continue_final_message":true)", "continue_final_message"},  // last is a user msg
  };
  for (const auto& [extra, param] : cases) {
    SCOPED_TRACE(extra);
    EXPECT_API_ERROR(parse_chat_request(req(extra)), 400, "invalid_value", param);
  }
}

TEST(ChatRequest, MissingNestedFields) {
  EXPECT_API_ERROR(parse_chat_request(req(R"("tools":[{"type":"function"}])")), 400,
                   "missing_field", "tools[0].function");
  EXPECT_API_ERROR(parse_chat_request(req(R"("tools":[{"type":"function","function":{}}])")),
                   400, "missing_field", "tools[0].function.name");
  EXPECT_API_ERROR(parse_chat_request(req(R"("tool_choice":{"type":"function"})")), 400,
                   "missing_field", "tool_choice.function");
  EXPECT_API_ERROR(parse_chat_request(req(R"("response_format":{})")), 400, "missing_field",
                   "response_format.type");
  EXPECT_API_ERROR(parse_chat_request(req(R"("response_format":{"type":"json_schema"})")), 400,
                   "missing_field", "response_format.json_schema");
}

}  // namespace
}  // namespace tandem::gateway::openai
