// The gateway's per-choice output pipeline on the default model's real tokenizer: token ids fed one
// at a time → detokenize → stop strings → <think> split → tool-call parsing.
#include <gtest/gtest.h>

#include "gateway/server/response_processing.h"
#include "common/check.h"
#include "tests/support/test_paths.h"
#include "worker/model/loader/gguf_file.h"

namespace tandem::gateway::server {
namespace {

std::shared_ptr<const ModelContext> model() {
  static std::shared_ptr<const ModelContext> ctx = [] {
    auto file = model::GgufFile::open(tandem::testing::default_model_path());
    CHECK(file.ok(), "{}", file.status().to_string());
    auto tok = text::load_tokenizer_from_gguf(**file);
    CHECK(tok.ok(), "{}", tok.status().to_string());
    auto c = std::make_shared<ModelContext>();
    c->tokenizer = std::move(tok).value();
    c->served_model_name = "test";
    return std::shared_ptr<const ModelContext>(std::move(c));
  }();
  return ctx;
}

struct Output {
  std::string content, reasoning;
  std::vector<openai::ToolCallDelta> calls;
  std::unique_ptr<ChoiceState> state;
};

// Feeds `text`'s tokens one by one, then the worker's finish.
Output feed(const std::string& text, ChoiceOptions opts, const std::string& finish = "stop") {
  Output r;
  auto s = ChoiceState::create(model(), std::move(opts), 0);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  r.state = std::move(s).value();
  auto add = [&](const ChoiceDelta& d) {
    r.content += d.content;
    r.reasoning += d.reasoning;
    r.calls.insert(r.calls.end(), d.tool_calls.begin(), d.tool_calls.end());
  };
  for (int32_t id : model()->tokenizer->encode(text, false)) add(r.state->on_tokens({id}, {}));
  add(r.state->on_finish(finish));
  return r;
}

TEST(ChoiceState, StopStringAcrossTokensEndsTheChoice) {
  ChoiceOptions o;
  o.stop = {"d. B"};
  Output r = feed("Hello world. Bye now.", o);
  EXPECT_EQ(r.content, "Hello worl");
  EXPECT_TRUE(r.state->stopped_by_string());
  EXPECT_EQ(r.state->finish_reason(), "stop");
  EXPECT_EQ(r.state->matched_stop(), std::optional<std::string>("d. B"));
  EXPECT_EQ(r.state->content(), "Hello worl");
}

TEST(ChoiceState, WithoutStopTheWorkersReasonAndAllTextArrive) {
  Output r = feed("Hello world. Bye now.", {}, "length");
  EXPECT_EQ(r.content, "Hello world. Bye now.");
  EXPECT_EQ(r.state->finish_reason(), "length");
  EXPECT_GT(r.state->completion_tokens(), 3);
}

TEST(ChoiceState, ReasoningIsSplitOut) {
  ChoiceOptions o;
  o.parse_reasoning = true;
  o.reasoning_parser = "qwen3";
  Output r = feed("<think>The user wants a city.</think>Paris.", o);
  EXPECT_EQ(r.reasoning, "The user wants a city.");
  EXPECT_EQ(r.content, "Paris.");
}

TEST(ChoiceState, HermesToolCallIsParsedAndFinishesAsToolCalls) {
  ChoiceOptions o;
  o.parse_tools = true;
  o.tool_parser = "hermes";
  o.tools = {{"get_weather", R"({"type":"object","properties":{"city":{"type":"string"}}})"}};
  Output r = feed("Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
              "\"Paris\"}}\n</tool_call>", o);
  EXPECT_EQ(r.content, "Let me check.");
  ASSERT_FALSE(r.calls.empty());
  EXPECT_EQ(r.calls[0].name, "get_weather");
  EXPECT_FALSE(r.calls[0].id.empty());
  std::string args;
  for (const auto& c : r.calls) args += c.arguments;
  EXPECT_EQ(args, R"({"city":"Paris"})");
  ASSERT_EQ(r.state->tool_calls().size(), 1u);
  EXPECT_EQ(r.state->tool_calls()[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r.state->finish_reason(), "tool_calls");
}

TEST(ChoiceState, UnknownToolPassesThroughAsText) {
  ChoiceOptions o;
  o.parse_tools = true;
  o.tools = {{"get_weather", ""}};
  const std::string text = "<tool_call>\n{\"name\": \"launch\", \"arguments\": {}}\n</tool_call>";
  Output r = feed(text, o);
  EXPECT_TRUE(r.calls.empty());
  EXPECT_EQ(r.content, text);
  EXPECT_EQ(r.state->finish_reason(), "stop");
}

}  // namespace
}  // namespace tandem::gateway::server
