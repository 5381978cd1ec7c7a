#include "gateway/text/stop/stop_matcher.h"

#include <gtest/gtest.h>

#include "tests/unit/text_parsers/chunking.h"

namespace tandem::text {
namespace {

struct StopRun {
  std::string text;
  bool stopped = false;
  std::string matched;
};

StopRun run(const std::vector<std::string>& stops, const std::vector<std::string>& chunks) {
  StatusOr<StopMatcher> m = StopMatcher::create(stops);
  EXPECT_TRUE(m.ok()) << m.status().to_string();
  StopRun r;
  auto take = [&](const StopResult& s) {
    EXPECT_FALSE(r.stopped && !s.emit.empty()) << "emitted after the stop";
    r.text += s.emit;
    if (s.stopped) {
      EXPECT_FALSE(r.stopped) << "stopped twice";
      r.stopped = true;
      r.matched = s.matched;
    }
  };
  for (const std::string& c : chunks) take(m->feed(c));
  take(m->finish());
  return r;
}

// Every chunking must give `want_text` and the stop outcome.
void expect_all(const std::vector<std::string>& stops, std::string_view text,
                std::string_view want_text, std::string_view want_match) {
  for (const auto& chunks : testing::chunkings(text)) {
    StopRun r = run(stops, chunks);
    EXPECT_EQ(r.text, want_text) << "chunks: " << chunks.size();
    EXPECT_EQ(r.stopped, !want_match.empty());
    EXPECT_EQ(r.matched, want_match);
  }
}

TEST(StopMatcher, EmptyStopIsAnError) {
  StatusOr<StopMatcher> m = StopMatcher::create({"a", ""});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("stop string 1 of 2 is empty"), std::string::npos);
}

TEST(StopMatcher, NoStopsPassesEverything) { expect_all({}, "hello world", "hello world", ""); }

TEST(StopMatcher, NoMatchFlushesHeldTailAtFinish) {
  expect_all({"STOP"}, "the end is ST", "the end is ST", "");
}

TEST(StopMatcher, MatchAcrossChunksExcludesStopAndRest) {
  expect_all({"###"}, "answer: 42### and more", "answer: 42", "###");
}

TEST(StopMatcher, StopAtVeryStart) { expect_all({"Hi"}, "Hi there", "", "Hi"); }

TEST(StopMatcher, HoldsOnlyPossiblePrefix) {
  StatusOr<StopMatcher> m = StopMatcher::create({"</s>"});
  ASSERT_TRUE(m.ok());
  StopResult r = m->feed("abc</");
  EXPECT_EQ(r.emit, "abc");
  r = m->feed("x");
  EXPECT_EQ(r.emit, "</x");
  r = m->feed("</s>tail");
  EXPECT_EQ(r.emit, "");
  EXPECT_TRUE(r.stopped);
  EXPECT_TRUE(m->feed("more").emit.empty());
  EXPECT_TRUE(m->finish().emit.empty());
}

TEST(StopMatcher, EarliestMatchWinsOverEarlierCompletion) {
  // "bc" completes first in a stream but "abcd" starts earlier: one-shot and streaming both
  // stop at position 0.
  expect_all({"bc", "abcd"}, "xxabcdyy", "xx", "abcd");
  // When the longer one does not complete, the shorter one is taken.
  expect_all({"bc", "abcd"}, "xxabcxyy", "xxa", "bc");
}

TEST(StopMatcher, OverlappingStopsSamePositionShortestWins) {
  expect_all({"abc", "ab"}, "zzabcz", "zz", "ab");
}

TEST(StopMatcher, SelfOverlappingStop) { expect_all({"aab"}, "xaaab!", "xa", "aab"); }

TEST(StopMatcher, PendingMatchTakenAtFinish) {
  // "bc" is complete, but "abcd" (starting one earlier) could still complete, so the match
  // waits; the stream ends instead, and finish() takes "bc".
  expect_all({"bc", "abcd"}, "zabc", "za", "bc");
}

TEST(StopMatcher, Unicode) {
  for (const auto& chunks : testing::chunkings("日本語のテキスト。終わり", /*bytes=*/false)) {
    StopRun r = run({"。終"}, chunks);
    EXPECT_EQ(r.text, "日本語のテキスト");
    EXPECT_EQ(r.matched, "。終");
  }
  expect_all({"😀"}, "smile 😀 please", "smile ", "😀");
}

}  // namespace
}  // namespace tandem::text
