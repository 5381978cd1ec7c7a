#include "bench/serving/http_format.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tandem::bench {
namespace {

namespace json = boost::json;

BenchPrompt prompt() {
  BenchPrompt p;
  p.text = "hello there";
  p.ids = {5, 6, 7};
  p.input_len = 3;
  p.output_len = 8;
  return p;
}

TEST(HttpFormatTest, BodiesAskForExactGreedyOutput) {
  json::object chat = json::parse(request_body(BackendKind::kOpenAiChat, prompt(), "m", true)).as_object();
  EXPECT_EQ(chat.at("model").as_string(), "m");
  EXPECT_EQ(chat.at("messages").as_array()[0].as_object().at("content").as_string(), "hello there");
  EXPECT_EQ(chat.at("max_tokens").as_int64(), 8);
  EXPECT_TRUE(chat.at("ignore_eos").as_bool());
  EXPECT_TRUE(chat.at("stream_options").as_object().at("include_usage").as_bool());

  json::object comp =
      json::parse(request_body(BackendKind::kOpenAiCompletions, prompt(), "m", false)).as_object();
  EXPECT_EQ(comp.at("prompt").as_array(), (json::array{5, 6, 7}));
  EXPECT_FALSE(comp.at("stream").as_bool());
  EXPECT_FALSE(comp.contains("stream_options"));

  json::object gen = json::parse(request_body(BackendKind::kSglangGenerate, prompt(), "m", true)).as_object();
  EXPECT_EQ(gen.at("input_ids").as_array(), (json::array{5, 6, 7}));
  EXPECT_EQ(gen.at("sampling_params").as_object().at("max_new_tokens").as_int64(), 8);
  EXPECT_EQ(request_path(BackendKind::kSglangGenerate), "/generate");

  json::object text =
      json::parse(request_body(BackendKind::kOpenAiCompletions, prompt(), "m", true, /*text_prompt=*/true)).as_object();
  EXPECT_EQ(text.at("prompt").as_string(), "hello there");
  json::object gen_text =
      json::parse(request_body(BackendKind::kSglangGenerate, prompt(), "m", true, /*text_prompt=*/true)).as_object();
  EXPECT_EQ(gen_text.at("text").as_string(), "hello there");
  EXPECT_FALSE(gen_text.contains("input_ids"));
}

TEST(HttpFormatTest, ChatStreamTimesContentChunksAndReadsUsage) {
  ResponseState s(BackendKind::kOpenAiChat);
  EXPECT_FALSE(s.on_event(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"));
  EXPECT_TRUE(s.on_event(R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})"));
  EXPECT_TRUE(s.on_event(R"({"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"length"}]})"));
  EXPECT_FALSE(s.on_event(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2}})"));
  EXPECT_FALSE(s.done());
  EXPECT_FALSE(s.on_event("[DONE]"));
  EXPECT_TRUE(s.done());
  EXPECT_EQ(s.text(), "Hello");
  EXPECT_EQ(s.prompt_tokens(), 12);
  EXPECT_EQ(s.completion_tokens(), 2);
  EXPECT_TRUE(s.error().empty());
}

TEST(HttpFormatTest, CompletionsNonStreamedBody) {
  ResponseState s(BackendKind::kOpenAiCompletions);
  s.on_body(R"({"choices":[{"text":"abc","index":0}],"usage":{"prompt_tokens":3,"completion_tokens":8}})");
  EXPECT_EQ(s.text(), "abc");
  EXPECT_EQ(s.completion_tokens(), 8);
}

TEST(HttpFormatTest, GenerateCountsNewTokensFromMetaInfo) {
  ResponseState s(BackendKind::kSglangGenerate);
  EXPECT_TRUE(s.on_event(R"({"text":"A","meta_info":{"prompt_tokens":3,"completion_tokens":1}})"));
  EXPECT_TRUE(s.on_event(R"({"text":"AB","meta_info":{"prompt_tokens":3,"completion_tokens":2}})"));
  EXPECT_FALSE(s.on_event(R"({"text":"AB","meta_info":{"prompt_tokens":3,"completion_tokens":2}})"));
  EXPECT_EQ(s.text(), "AB");
  EXPECT_EQ(s.completion_tokens(), 2);
}

TEST(HttpFormatTest, ErrorsInTheStreamAreReported) {
  ResponseState s(BackendKind::kOpenAiCompletions);
  EXPECT_FALSE(s.on_event(R"({"error":{"message":"worker died","code":503}})"));
  EXPECT_NE(s.error().find("worker died"), std::string::npos);
  ResponseState t(BackendKind::kOpenAiCompletions);
  t.on_event("not json");
  EXPECT_NE(t.error().find("not json"), std::string::npos);
}

}  // namespace
}  // namespace tandem::bench
