// Randomised chunking invariance: texts built from tag fragments, JSON pieces, whitespace and
// multi-byte characters, fed one-shot and in random chunkings, must give identical results; plus
// the pass-through invariants (no call found => text unchanged; no stop => text unchanged).
#include <gtest/gtest.h>

#include <random>

#include "gateway/text/reasoning/reasoning_parser.h"
#include "gateway/text/stop/stop_matcher.h"
#include "tests/unit/text_parsers/tool_test_util.h"

namespace tandem::text {
namespace {

const std::vector<std::string> kPieces = {
    "<tool_call>", "</tool_call>", "<tool", "_call>", "</tool", "\n", " ", ";", "{", "}", "a", "é",
    "😀", "{\"name\": \"get_time\", \"arguments\": {}}", "{\"name\": \"nope\"}",
    "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"x}\"}}", "\"", "\\", "<|python_tag|>",
    "<|python", "<function=get_weather>", "<function=get_time>", "<parameter=days>", "12",
    "</parameter>", "</function>", "<think>", "</think>", "</th", "STOP", "ST", "OP"};

std::string random_text(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> pick(0, kPieces.size() - 1);
  std::uniform_int_distribution<int> len(0, 14);
  std::string text;
  for (int n = len(rng); n > 0; --n) text += kPieces[pick(rng)];
  return text;
}

TEST(ChunkingFuzz, ToolParsersAgreeWithOneShot) {
  std::mt19937 rng(42);
  for (std::string_view name : {"hermes", "llama3", "qwen3_coder"}) {
    auto p = testing::make(name);
    for (int i = 0; i < 300; ++i) {
      std::string text = random_text(rng);
      ParseResult want = p->parse_complete(text);
      if (want.calls.empty()) {
        EXPECT_EQ(want.normal_text, text) << name << ": " << text;
      }
      for (int k = 0; k < 4; ++k) {
        p->reset();
        testing::expect_calls(testing::stream(*p, testing::random_chunks(text, rng)), want,
                              std::string(name) + ": " + text);
      }
    }
  }
}

TEST(ChunkingFuzz, ReasoningAgreesWithOneShot) {
  std::mt19937 rng(7);
  for (bool starts_inside : {false, true}) {
    ReasoningConfig config;
    config.starts_in_reasoning = starts_inside;
    for (int i = 0; i < 300; ++i) {
      std::string text = random_text(rng);
      ReasoningDelta want = ReasoningParser(config).parse_complete(text);
      ReasoningParser p(config);
      ReasoningDelta got;
      for (const std::string& c : testing::random_chunks(text, rng)) {
        ReasoningDelta d = p.feed(c);
        got.reasoning += d.reasoning;
        got.content += d.content;
      }
      ReasoningDelta d = p.finish();
      EXPECT_EQ(got.reasoning + d.reasoning, want.reasoning) << text;
      EXPECT_EQ(got.content + d.content, want.content) << text;
    }
  }
}

TEST(ChunkingFuzz, StopMatcherAgreesWithOneShot) {
  std::mt19937 rng(99);
  const std::vector<std::string> stops = {"STOP", "OPS", "</tool_call>", "é😀"};
  for (int i = 0; i < 500; ++i) {
    std::string text = random_text(rng);
    auto run = [&](const std::vector<std::string>& chunks) {
      StopMatcher m = std::move(*StopMatcher::create(stops));
      StopResult all;
      for (const std::string& c : chunks) {
        StopResult r = m.feed(c);
        all.emit += r.emit;
        if (r.stopped) all.matched = r.matched, all.stopped = true;
      }
      StopResult r = m.finish();
      all.emit += r.emit;
      if (r.stopped) all.matched = r.matched, all.stopped = true;
      return all;
    };
    StopResult want = run({text});
    if (!want.stopped) {
      EXPECT_EQ(want.emit, text);
    } else {
      EXPECT_EQ(text.substr(0, want.emit.size() + want.matched.size()), want.emit + want.matched);
      // Nothing before the match contains a stop string.
      for (const std::string& s : stops) EXPECT_EQ(want.emit.find(s), std::string::npos) << text;
    }
    StopResult got = run(testing::random_chunks(text, rng));
    EXPECT_EQ(got.emit, want.emit) << text;
    EXPECT_EQ(got.matched, want.matched) << text;
  }
}

}  // namespace
}  // namespace tandem::text
