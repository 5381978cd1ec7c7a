#include <gtest/gtest.h>

#include "tests/unit/text_parsers/tool_test_util.h"

namespace tandem::text {
namespace {

using testing::expect_all;
using testing::expect_passthrough;

TEST(Qwen3CoderParser, TypeConversionBySchema) {
  expect_all("qwen3_coder",
             "<tool_call>\n<function=get_weather>\n"
             "<parameter=city>\n42\n</parameter>\n"
             "<parameter=days>\n7\n</parameter>\n"
             "<parameter=metric>\nTrue\n</parameter>\n"
             "<parameter=temp>\n-3.25\n</parameter>\n"
             "<parameter=opts>\n{\"unit\": \"C\"}\n</parameter>\n"
             "<parameter=tags>\n[\"a\", 1]\n</parameter>\n"
             "<parameter=extra>\n{not declared}\n</parameter>\n"
             "</function>\n</tool_call>",
             {"",
              {{"get_weather",
                R"({"city":"42","days":7,"metric":true,"temp":-3.25,"opts":{"unit":"C"},)"
                R"("tags":["a",1],"extra":"{not declared}"})"}}});
}

TEST(Qwen3CoderParser, BadTypedValuesFallBackToString) {
  expect_all("qwen3_coder",
             "<tool_call>\n<function=get_weather>\n<parameter=days>\nseven\n</parameter>\n"
             "<parameter=metric>\nyes\n</parameter>\n<parameter=opts>\n[1]\n</parameter>\n"
             "<parameter=temp>\nnull\n</parameter>\n</function>\n</tool_call>",
             {"", {{"get_weather", R"({"days":"seven","metric":"yes","opts":"[1]","temp":null})"}}});
}

TEST(Qwen3CoderParser, MultilineStringKeepsInnerNewlines) {
  expect_all("qwen3_coder",
             "<tool_call>\n<function=get_weather>\n<parameter=city>\n\nline1\nline2\n\n"
             "</parameter>\n</function>\n</tool_call>",
             {"", {{"get_weather", R"({"city":"\nline1\nline2\n"})"}}});
}

TEST(Qwen3CoderParser, SeveralCallsAndText) {
  expect_all("qwen3_coder",
             "I will call two tools.\n<tool_call>\n<function=get_time>\n</function>\n</tool_call>\n"
             "<tool_call>\n<function=get_weather>\n<parameter=city>\nNice\n</parameter>\n"
             "</function>\n</tool_call>\nAfter.",
             {"I will call two tools.\nAfter.",
              {{"get_time", "{}"}, {"get_weather", R"({"city":"Nice"})"}}});
}

TEST(Qwen3CoderParser, LenientMissingClosers) {
  expect_all("qwen3_coder",
             "<tool_call>\n<function=get_weather>\n<parameter=city>\nBern\n<parameter=days>\n1\n"
             "</tool_call>",
             {"", {{"get_weather", R"({"city":"Bern","days":1})"}}});
}

TEST(Qwen3CoderParser, UnknownFunctionPassesThrough) {
  expect_passthrough("qwen3_coder",
                     "x<tool_call>\n<function=format_disk>\n<parameter=d>\nC\n</parameter>\n"
                     "</function>\n</tool_call>y");
}

TEST(Qwen3CoderParser, MalformedMarkupPassesThrough) {
  expect_passthrough("qwen3_coder", "<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>");
  expect_passthrough("qwen3_coder", "<tool_call>\n<function=get_time\n</tool_call>");
  expect_passthrough("qwen3_coder", "<tool_call>\n</tool_call>");
}

TEST(Qwen3CoderParser, PartialTagAtEndIsText) {
  expect_passthrough("qwen3_coder", "almost <tool_cal");
}

}  // namespace
}  // namespace tandem::text

namespace tandem::text {
namespace {

// A large argument streamed in 3-byte deltas (a model writing a file through a tool). The
// parsers rescan only new text, so this stays fast; a quadratic rescan would take seconds.
TEST(ToolParsersLarge, LongArgumentsInSmallDeltas) {
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + ", ";
  struct Case {
    const char* parser;
    std::string text;
  };
  std::vector<Case> cases = {
      {"qwen3_coder", "<tool_call>\n<function=get_weather>\n<parameter=city>\n" + big +
                          "\n</parameter>\n</function>\n</tool_call>"},
      {"llama3", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"" + big + "\"}}"},
      {"hermes", "<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"" + big +
                     "\"}}</tool_call>"},
  };
  for (const Case& c : cases) {
    auto p = testing::make(c.parser);
    std::vector<std::string> chunks;
    for (size_t i = 0; i < c.text.size(); i += 3) chunks.push_back(c.text.substr(i, 3));
    ParseResult r = testing::stream(*p, chunks);
    ASSERT_EQ(r.calls.size(), 1u) << c.parser;
    // EXPECT_TRUE: a failure would otherwise print 200 KB twice.
    EXPECT_TRUE(r.calls[0].arguments_json == "{\"city\":\"" + big + "\"}") << c.parser;
    EXPECT_EQ(r.normal_text, "") << c.parser;
  }
}

}  // namespace
}  // namespace tandem::text
