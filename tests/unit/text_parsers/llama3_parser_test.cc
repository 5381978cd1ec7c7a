#include <gtest/gtest.h>

#include "tests/unit/text_parsers/tool_test_util.h"

namespace tandem::text {
namespace {

using testing::expect_all;
using testing::expect_passthrough;

TEST(Llama3Parser, SingleCallWithParameters) {
  expect_all("llama3", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\", \"days\": 2}}",
             {"", {{"get_weather", R"({"city":"Rome","days":2})"}}});
}

TEST(Llama3Parser, PythonTagAndSeveralCalls) {
  expect_all("llama3",
             "<|python_tag|>{\"name\": \"get_time\", \"arguments\": {}}; {\"name\": "
             "\"get_weather\", \"parameters\": {\"city\": \"Lima\"}};",
             {"", {{"get_time", "{}"}, {"get_weather", R"({"city":"Lima"})"}}});
}

TEST(Llama3Parser, LeadingWhitespaceBeforeCall) {
  expect_all("llama3", "\n  {\"name\": \"get_time\", \"parameters\": {}}\n",
             {"", {{"get_time", "{}"}}});
}

TEST(Llama3Parser, PlainTextIsUntouched) {
  expect_passthrough("llama3", "  The weather is {sunny} today; {\"name\": \"get_time\"}");
  expect_passthrough("llama3", "<|python");  // a partial tag at the end is text
  expect_passthrough("llama3", "<b>hi</b>");
}

TEST(Llama3Parser, TextAfterCall) {
  expect_all("llama3", "{\"name\": \"get_time\", \"parameters\": {}} and that is all",
             {"and that is all", {{"get_time", "{}"}}});
}

TEST(Llama3Parser, UnknownFunctionPassesThrough) {
  expect_passthrough("llama3", "<|python_tag|>{\"name\": \"launch\", \"parameters\": {}}");
  // The second call is bad: it and its separator pass through, the first stays a call.
  expect_all("llama3",
             "{\"name\": \"get_time\", \"parameters\": {}}; {\"name\": \"nope\", \"parameters\": {}}",
             {"; {\"name\": \"nope\", \"parameters\": {}}", {{"get_time", "{}"}}});
}

TEST(Llama3Parser, MalformedJsonPassesThrough) {
  expect_passthrough("llama3", "{\"name\": \"get_time\", \"parameters\": {\"a\": tru}}");
  expect_passthrough("llama3", " {\"name\": \"get_time\", \"parameters\": {\"a\": \"}");  // cut off
}

TEST(Llama3Parser, BracesInsideStrings) {
  expect_all("llama3",
             "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"}{\\\"}\"}}",
             {"", {{"get_weather", R"({"city":"}{\"}"})"}}});
}

TEST(Llama3Parser, HasToolCall) {
  auto p = testing::make("llama3");
  EXPECT_TRUE(p->has_tool_call("  {\"name\""));
  EXPECT_TRUE(p->has_tool_call("<|python_tag|>x"));
  EXPECT_FALSE(p->has_tool_call("hello {"));
}

}  // namespace
}  // namespace tandem::text
