// Builders round-trip through boost::json::parse with exact field checks.
#include "gateway/openai/respond.h"

#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace tandem::gateway::openai {
namespace {
namespace json = boost::json;

ResponseMeta meta(const std::string& id) { return ResponseMeta{id, 1700000000, "smol"}; }

TEST(Respond, IdsHavePrefixAndAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string c = make_chat_completion_id();
    ASSERT_TRUE(c.starts_with("chatcmpl-"));
    EXPECT_EQ(c.size(), 9u + 32u);
    EXPECT_EQ(c.find_first_not_of("0123456789abcdef", 9), std::string::npos);
    seen.insert(c);
    std::string t = make_completion_id();
    ASSERT_TRUE(t.starts_with("cmpl-"));
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_GT(unix_seconds_now(), 1600000000);
}

TEST(Respond, ChatCompletion) {
  ChatChoice c;
  c.content = "Paris";
  c.reasoning_content = "thinking";
  c.finish_reason = "stop";
  c.matched_stop = "\n";
  c.logprobs = std::vector<TokenLogprob>{{"Par", -0.5, {{"Par", -0.5}, {"Lon", -1.5}}}};
  ChatChoice t;
  t.index = 1;
  t.tool_calls = {{"call_0", "get_weather", R"({"city":"Paris"})"}};
  t.finish_reason = "tool_calls";
  auto v = json::parse(chat_completion_json(meta("chatcmpl-1"), {c, t}, {10, 3, 4})).as_object();
  EXPECT_EQ(v.at("id").as_string(), "chatcmpl-1");
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("created").as_int64(), 1700000000);
  EXPECT_EQ(v.at("model").as_string(), "smol");
  const auto& choices = v.at("choices").as_array();
  ASSERT_EQ(choices.size(), 2u);
  const auto& c0 = choices[0].as_object();
  EXPECT_EQ(c0.at("index").as_int64(), 0);
  EXPECT_EQ(c0.at("finish_reason").as_string(), "stop");
  EXPECT_EQ(c0.at("matched_stop").as_string(), "\n");
  const auto& m0 = c0.at("message").as_object();
  EXPECT_EQ(m0.at("role").as_string(), "assistant");
  EXPECT_EQ(m0.at("content").as_string(), "Paris");
  EXPECT_EQ(m0.at("reasoning_content").as_string(), "thinking");
  EXPECT_FALSE(m0.contains("tool_calls"));
  const auto& lp = c0.at("logprobs").at("content").as_array();
  ASSERT_EQ(lp.size(), 1u);
  EXPECT_EQ(lp[0].at("token").as_string(), "Par");
  EXPECT_DOUBLE_EQ(lp[0].at("logprob").as_double(), -0.5);
  EXPECT_EQ(lp[0].at("bytes"), (json::array{80, 97, 114}));
  ASSERT_EQ(lp[0].at("top_logprobs").as_array().size(), 2u);
  EXPECT_EQ(lp[0].at("top_logprobs").as_array()[1].at("token").as_string(), "Lon");
  EXPECT_DOUBLE_EQ(lp[0].at("top_logprobs").as_array()[1].at("logprob").as_double(), -1.5);

  const auto& c1 = choices[1].as_object();
  EXPECT_TRUE(c1.at("logprobs").is_null());
  EXPECT_TRUE(c1.at("message").at("content").is_null());
  const auto& call = c1.at("message").at("tool_calls").as_array()[0].as_object();
  EXPECT_EQ(call.at("id").as_string(), "call_0");
  EXPECT_EQ(call.at("type").as_string(), "function");
  EXPECT_EQ(call.at("function").at("name").as_string(), "get_weather");
  EXPECT_EQ(call.at("function").at("arguments").as_string(), R"({"city":"Paris"})");

  const auto& u = v.at("usage").as_object();
  EXPECT_EQ(u.at("prompt_tokens").as_int64(), 10);
  EXPECT_EQ(u.at("completion_tokens").as_int64(), 3);
  EXPECT_EQ(u.at("total_tokens").as_int64(), 13);
  EXPECT_EQ(u.at("prompt_tokens_details").at("cached_tokens").as_int64(), 4);
}

TEST(Respond, UsageWithoutCachedTokensHasNoDetails) {
  auto v = json::parse(chat_completion_json(meta("x"), {}, {1, 2, std::nullopt}));
  EXPECT_FALSE(v.at("usage").as_object().contains("prompt_tokens_details"));
  EXPECT_TRUE(v.at("choices").as_array().empty());
}

TEST(Respond, ChatChunks) {
  ChatChunkChoice first;
  first.role = "assistant";
  first.content = "";
  auto v = json::parse(chat_chunk_json(meta("chatcmpl-2"), {first})).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion.chunk");
  EXPECT_FALSE(v.contains("usage"));
  const auto& c = v.at("choices").as_array()[0].as_object();
  EXPECT_EQ(c.at("delta"), (json::object{{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(c.at("finish_reason").is_null());
  EXPECT_TRUE(c.at("logprobs").is_null());

  ChatChunkChoice tool;
  tool.tool_calls = {{0, "call_9", "f", ""}, {1, "", "", "{\"a\":"}};
  tool.reasoning_content = "hmm";
  auto tv = json::parse(chat_chunk_json(meta("chatcmpl-2"), {tool}));
  const auto& delta = tv.at("choices").as_array()[0].at("delta").as_object();
  EXPECT_EQ(delta.at("reasoning_content").as_string(), "hmm");
  EXPECT_FALSE(delta.contains("content"));
  const auto& calls = delta.at("tool_calls").as_array();
  EXPECT_EQ(calls[0], (json::object{{"index", 0},
                                    {"id", "call_9"},
                                    {"type", "function"},
                                    {"function", json::object{{"name", "f"}, {"arguments", ""}}}}));
  EXPECT_EQ(calls[1], (json::object{{"index", 1},
                                    {"function", json::object{{"arguments", "{\"a\":"}}}}));

  ChatChunkChoice last;
  last.content = "!";
  last.finish_reason = "length";
  last.logprobs = std::vector<TokenLogprob>{{"!", -0.25, {}}};
  auto lv = json::parse(chat_chunk_json(meta("chatcmpl-2"), {last}));
  const auto& lc = lv.at("choices").as_array()[0].as_object();
  EXPECT_EQ(lc.at("finish_reason").as_string(), "length");
  EXPECT_EQ(lc.at("delta"), (json::object{{"content", "!"}}));
  EXPECT_EQ(lc.at("logprobs").at("content").as_array()[0].at("bytes"), (json::array{33}));

  auto uv = json::parse(chat_chunk_json(meta("chatcmpl-2"), {}, Usage{5, 6, 0})).as_object();
  EXPECT_TRUE(uv.at("choices").as_array().empty());
  EXPECT_EQ(uv.at("usage").at("total_tokens").as_int64(), 11);
  EXPECT_EQ(uv.at("usage").at("prompt_tokens_details").at("cached_tokens").as_int64(), 0);
}

TEST(Respond, TextCompletionAndChunks) {
  CompletionChoice c;
  c.text = " upon a time";
  c.finish_reason = "length";
  c.logprobs = CompletionLogprobs{{" upon", " a"},
                                  {-0.1, -0.2},
                                  {{{" upon", -0.1}}, {{" a", -0.2}, {" the", -2}}},
                                  {0, 5}};
  auto v = json::parse(text_completion_json(meta("cmpl-1"), {c}, {4, 2, std::nullopt})).as_object();
  EXPECT_EQ(v.at("object").as_string(), "text_completion");
  EXPECT_EQ(v.at("id").as_string(), "cmpl-1");
  const auto& ch = v.at("choices").as_array()[0].as_object();
  EXPECT_EQ(ch.at("text").as_string(), " upon a time");
  EXPECT_EQ(ch.at("index").as_int64(), 0);
  EXPECT_EQ(ch.at("finish_reason").as_string(), "length");
  const auto& lp = ch.at("logprobs").as_object();
  EXPECT_EQ(lp.at("tokens"), (json::array{" upon", " a"}));
  EXPECT_EQ(lp.at("token_logprobs"), (json::array{-0.1, -0.2}));
  EXPECT_EQ(lp.at("text_offset"), (json::array{0, 5}));
  EXPECT_EQ(lp.at("top_logprobs").as_array()[1], (json::object{{" a", -0.2}, {" the", -2.0}}));
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 6);

  CompletionChoice d;
  d.text = " upon";
  auto cv = json::parse(completion_chunk_json(meta("cmpl-1"), {d})).as_object();
  EXPECT_EQ(cv.at("object").as_string(), "text_completion");
  EXPECT_TRUE(cv.at("choices").as_array()[0].at("finish_reason").is_null());
  EXPECT_TRUE(cv.at("choices").as_array()[0].at("logprobs").is_null());
  EXPECT_FALSE(cv.contains("usage"));
  auto uv = json::parse(completion_chunk_json(meta("cmpl-1"), {}, Usage{1, 1, std::nullopt}));
  EXPECT_EQ(uv.at("usage").at("total_tokens").as_int64(), 2);
}

TEST(Respond, ModelsList) {
  auto v = json::parse(models_list_json({{"smol", 1700000000, "tandem", 8192}, {"b", 5, "me", {}}}))
               .as_object();
  EXPECT_EQ(v.at("object").as_string(), "list");
  const auto& data = v.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[0], (json::object{{"id", "smol"},
                                   {"object", "model"},
                                   {"created", 1700000000},
                                   {"owned_by", "tandem"},
                                   {"root", "smol"},
                                   {"max_model_len", 8192}}));
  EXPECT_FALSE(data[1].as_object().contains("max_model_len"));
  EXPECT_EQ(data[1].at("owned_by").as_string(), "me");
}

TEST(Respond, GenerateResponse) {
  GenerateResult r;
  r.text = " Paris.";
  r.output_ids = {3681, 30};
  r.id = "rid-1";
  r.finish_reason = FinishReason{"stop", 2, std::nullopt, std::nullopt, ""};
  r.prompt_tokens = 6;
  r.completion_tokens = 2;
  r.cached_tokens = 4;
  r.e2e_latency = 0.125;
  r.output_token_logprobs = std::vector<std::pair<double, int32_t>>{{-0.5, 3681}, {-0.25, 30}};
  r.output_top_logprobs =
      std::vector<std::vector<std::pair<double, int32_t>>>{{{-0.5, 3681}}, {{-0.25, 30}}};
  auto v = json::parse(generate_response_json(r)).as_object();
  EXPECT_EQ(v.at("text").as_string(), " Paris.");
  EXPECT_EQ(v.at("output_ids"), (json::array{3681, 30}));
  const auto& m = v.at("meta_info").as_object();
  EXPECT_EQ(m.at("id").as_string(), "rid-1");
  EXPECT_EQ(m.at("finish_reason"), (json::object{{"type", "stop"}, {"matched", 2}}));
  EXPECT_EQ(m.at("prompt_tokens").as_int64(), 6);
  EXPECT_EQ(m.at("completion_tokens").as_int64(), 2);
  EXPECT_EQ(m.at("cached_tokens").as_int64(), 4);
  EXPECT_DOUBLE_EQ(m.at("e2e_latency").as_double(), 0.125);
  EXPECT_EQ(m.at("output_token_logprobs").as_array()[1], (json::array{-0.25, 30, nullptr}));
  EXPECT_EQ(m.at("output_top_logprobs").as_array()[0],
            (json::array{json::array{-0.5, 3681, nullptr}}));

  GenerateResult s;
  s.id = "rid-2";
  auto sv = json::parse(generate_response_json(s)).as_object();
  EXPECT_TRUE(sv.at("meta_info").at("finish_reason").is_null());
  EXPECT_FALSE(sv.at("meta_info").as_object().contains("output_token_logprobs"));

  s.finish_reason = FinishReason{"length", std::nullopt, std::nullopt, 16, ""};
  EXPECT_EQ(json::parse(generate_response_json(s)).at("meta_info").at("finish_reason"),
            (json::object{{"type", "length"}, {"length", 16}}));
  s.finish_reason = FinishReason{"stop", std::nullopt, "END", std::nullopt, ""};
  EXPECT_EQ(json::parse(generate_response_json(s)).at("meta_info").at("finish_reason"),
            (json::object{{"type", "stop"}, {"matched", "END"}}));
  s.finish_reason = FinishReason{"abort", std::nullopt, std::nullopt, std::nullopt, "client gone"};
  EXPECT_EQ(json::parse(generate_response_json(s)).at("meta_info").at("finish_reason"),
            (json::object{{"type", "abort"}, {"message", "client gone"}}));
}

}  // namespace
}  // namespace tandem::gateway::openai
