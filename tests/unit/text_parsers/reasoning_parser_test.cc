#include "gateway/text/reasoning/reasoning_parser.h"

#include <gtest/gtest.h>

#include "tests/unit/text_parsers/chunking.h"

namespace tandem::text {
namespace {

ReasoningDelta run(const ReasoningConfig& config, const std::vector<std::string>& chunks) {
  ReasoningParser p(config);
  ReasoningDelta all;
  for (const std::string& c : chunks) {
    ReasoningDelta d = p.feed(c);
    all.reasoning += d.reasoning;
    all.content += d.content;
  }
  ReasoningDelta d = p.finish();
  all.reasoning += d.reasoning;
  all.content += d.content;
  return all;
}

void expect_all(const ReasoningConfig& config, std::string_view text, std::string_view reasoning,
                std::string_view content) {
  ReasoningParser one_shot(config);
  ReasoningDelta c = one_shot.parse_complete(text);
  EXPECT_EQ(c.reasoning, reasoning) << "one-shot of: " << text;
  EXPECT_EQ(c.content, content) << "one-shot of: " << text;
  for (const auto& chunks : testing::chunkings(text)) {
    ReasoningDelta r = run(config, chunks);
    EXPECT_EQ(r.reasoning, reasoning) << chunks.size() << " chunks of: " << text;
    EXPECT_EQ(r.content, content) << chunks.size() << " chunks of: " << text;
  }
}

ReasoningConfig qwen3() { return ReasoningConfig{}; }
ReasoningConfig r1() {
  ReasoningConfig c;
  c.starts_in_reasoning = true;
  return c;
}

TEST(ReasoningParser, SplitsBlockAndTrimsEdges) {
  expect_all(qwen3(), "<think>\nLet me think.\nStep 2.\n</think>\n\nThe answer is 4.",
             "Let me think.\nStep 2.", "The answer is 4.");
}

TEST(ReasoningParser, NoBlockIsAllContent) {
  expect_all(qwen3(), "  Just an answer, no <think> here.", "",
             "  Just an answer, no <think> here.");
}

TEST(ReasoningParser, StartsInReasoning) {
  expect_all(r1(), "weighing options</think>Final.", "weighing options", "Final.");
  // A start tag the model repeats anyway is dropped.
  expect_all(r1(), "\n<think>\nhmm</think>ok", "hmm", "ok");
}

TEST(ReasoningParser, NoEndTagMeansAllReasoning) {
  expect_all(qwen3(), "<think>still going and going </th", "still going and going </th", "");
  expect_all(r1(), "never closes, 3 < 4 and </thi", "never closes, 3 < 4 and </thi", "");
}

TEST(ReasoningParser, PartialStartTagAtEndIsContent) {
  expect_all(qwen3(), "<thi", "", "<thi");
  expect_all(qwen3(), "<b>bold</b>", "", "<b>bold</b>");
}

TEST(ReasoningParser, LaterTagsInContentAreContent) {
  expect_all(qwen3(), "<think>a</think>b <think>c</think>", "a", "b <think>c</think>");
}

TEST(ReasoningParser, InnerWhitespaceKept) {
  expect_all(r1(), "a  \n b\n\n</think>", "a  \n b", "");
  expect_all(r1(), "a   </tx b", "a   </tx b", "");
}

TEST(ReasoningParser, Unicode) {
  expect_all(r1(), "考えています…</think>答えは４です", "考えています…", "答えは４です");
}

TEST(ReasoningParser, CustomTags) {
  ReasoningConfig c{"[R]", "[/R]", false};
  expect_all(c, "[R]why[/R]what", "why", "what");
}

TEST(ReasoningParser, Factory) {
  auto q = make_reasoning_parser("qwen3");
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE((*q)->config().starts_in_reasoning);
  auto d = make_reasoning_parser("deepseek_r1");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE((*d)->config().starts_in_reasoning);
  auto none = make_reasoning_parser("none");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("'none'"), std::string::npos);
  EXPECT_FALSE(make_reasoning_parser("gpt").ok());
}

}  // namespace
}  // namespace tandem::text
