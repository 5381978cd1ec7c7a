#include <gtest/gtest.h>

#include "tests/unit/text_parsers/tool_test_util.h"

namespace tandem::text {
namespace {

using testing::expect_all;
using testing::expect_passthrough;

TEST(HermesParser, SingleCallNormalisedCompactly) {
  expect_all("hermes",
             "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", "
             "\"days\": 3, \"temp\": 21.50, \"opts\": {\"z\": [1, 2], \"a\": null}}}\n</tool_call>",
             {"", {{"get_weather", R"({"city":"Paris","days":3,"temp":21.5,"opts":{"z":[1,2],"a":null}})"}}});
}

TEST(HermesParser, TextAroundAndBetweenCalls) {
  expect_all("qwen25",
             "Let me check.\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {}}\n</tool_call>"
             "\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n"
             "</tool_call>\nDone.",
             {"Let me check.\nDone.",
              {{"get_time", "{}"}, {"get_weather", R"({"city":"Oslo"})"}}});
}

TEST(HermesParser, MissingArgumentsIsEmptyObject) {
  expect_all("hermes", "<tool_call>{\"name\": \"get_time\"}</tool_call>", {"", {{"get_time", "{}"}}});
}

TEST(HermesParser, ArgumentsAsJsonString) {
  expect_all("hermes",
             "<tool_call>{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\": 1}\"}</tool_call>",
             {"", {{"get_time", R"({"tz":1})"}}});
  expect_passthrough("hermes",
                     "<tool_call>{\"name\": \"get_time\", \"arguments\": \"tz\"}</tool_call>");
}

TEST(HermesParser, UnknownFunctionPassesThrough) {
  expect_passthrough("hermes",
                     "a <tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call> b");
}

TEST(HermesParser, MalformedJsonPassesThroughAndParsingContinues) {
  std::string bad = "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"x\": }\n</tool_call>";
  expect_passthrough("hermes", bad);
  expect_all("hermes",
             bad + "<tool_call>{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}</tool_call>",
             {bad, {{"get_time", R"({"tz":"UTC"})"}}});
  // Arguments that are not an object are malformed too.
  expect_passthrough("hermes", "<tool_call>{\"name\": \"get_time\", \"arguments\": [1]}</tool_call>");
}

TEST(HermesParser, PartialTagAtEndIsText) {
  expect_passthrough("hermes", "see you <tool_ca");
  expect_passthrough("hermes", "<tool <tool_c <");
}

TEST(HermesParser, UnclosedBlockAtEnd) {
  // Valid JSON without the end tag is still a call (models often stop right after it).
  expect_all("hermes", "<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"a\": 1}}\n",
             {"", {{"get_time", R"({"a":1})"}}});
  // Cut off mid-JSON: raw text.
  expect_passthrough("hermes", "x<tool_call>\n{\"name\": \"get_time\", \"argu");
}

TEST(HermesParser, UnicodeAndEscapesInArguments) {
  expect_all("hermes",
             "Voilà 😀<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Zürich "
             "\\\"東京\\\" \\u00e9\"}}</tool_call>",
             {"Voilà 😀", {{"get_weather", "{\"city\":\"Zürich \\\"東京\\\" é\"}"}}});
}

TEST(HermesParser, StreamsTextBeforeCallImmediately) {
  auto p = testing::make("hermes");
  StreamDelta d = p->feed("Sure <tool");
  EXPECT_EQ(d.normal_text, "Sure ");
  d = p->feed("_call>{\"name\": \"get_time\"");
  EXPECT_EQ(d.normal_text, "");
  EXPECT_TRUE(d.deltas.empty());
  d = p->feed("}</tool_call>");
  ASSERT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.deltas[0].index, 0);
  EXPECT_EQ(d.deltas[0].name, "get_time");
  EXPECT_EQ(d.deltas[0].arguments_delta, "{}");
}

TEST(HermesParser, HasToolCall) {
  auto p = testing::make("hermes");
  EXPECT_TRUE(p->has_tool_call("x <tool_call>{"));
  EXPECT_FALSE(p->has_tool_call("plain text"));
}

TEST(ToolParserFactory, Errors) {
  auto bad_name = make_tool_parser("mistral9", {});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_NE(bad_name.status().message().find("'mistral9'"), std::string::npos);
  EXPECT_FALSE(make_tool_parser("hermes", {{"", ""}}).ok());
  auto bad_schema = make_tool_parser("qwen3_coder", {{"f", "[1,2]"}});
  ASSERT_FALSE(bad_schema.ok());
  EXPECT_NE(bad_schema.status().message().find("'f'"), std::string::npos);
}

}  // namespace
}  // namespace tandem::text
