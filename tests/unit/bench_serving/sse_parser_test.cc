#include "bench/serving/sse_parser.h"

#include <gtest/gtest.h>

namespace tandem::bench {
namespace {

std::vector<std::string> parse_in_pieces(const std::string& stream, const std::vector<size_t>& cuts) {
  SseParser p;
  std::vector<std::string> events;
  size_t at = 0;
  for (size_t cut : cuts) {
    p.feed(std::string_view(stream).substr(at, cut - at), &events);
    at = cut;
  }
  p.feed(std::string_view(stream).substr(at), &events);
  p.finish(&events);
  return events;
}

const std::vector<std::string> kExpected = {R"({"a":1})", R"({"b":"x: y"})", "line1\nline2", "[DONE]"};

TEST(SseParserTest, EveryTwoWaySplitGivesTheSameEvents) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    const std::string stream = ": keep-alive" + eol + "data: {\"a\":1}" + eol + eol + "event: x" + eol +
                               "data: {\"b\":\"x: y\"}" + eol + eol + "data: line1" + eol + "data:line2" +
                               eol + eol + "data: [DONE]" + eol + eol;
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      EXPECT_EQ(parse_in_pieces(stream, {cut}), kExpected) << "eol " << eol.size() << " cut at " << cut;
    }
  }
}

TEST(SseParserTest, ByteByByte) {
  const std::string stream = "data: {\"a\":1}\r\n\r\ndata: {\"b\":\"x: y\"}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  EXPECT_EQ(parse_in_pieces(stream, cuts), kExpected);
}

TEST(SseParserTest, EventsArriveAsSoonAsTheirBlankLineDoes) {
  SseParser p;
  std::vector<std::string> events;
  p.feed("data: one\n", &events);
  EXPECT_TRUE(events.empty());
  p.feed("\ndata: tw", &events);
  EXPECT_EQ(events, std::vector<std::string>{"one"});
  p.feed("o\n\n", &events);
  EXPECT_EQ(events, (std::vector<std::string>{"one", "two"}));
}

TEST(SseParserTest, UnterminatedLastEventIsDeliveredAtFinish) {
  SseParser p;
  std::vector<std::string> events;
  p.feed("data: [DONE]", &events);
  EXPECT_TRUE(events.empty());
  p.finish(&events);
  EXPECT_EQ(events, std::vector<std::string>{"[DONE]"});
}

}  // namespace
}  // namespace tandem::bench
