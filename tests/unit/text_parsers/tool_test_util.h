// Runs a tool parser over every chunking of a text and checks all agree with the expectation and
// with parse_complete; also checks the delta protocol (name only first, indices in order).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/text/tool_parsers/tool_parser_factory.h"
#include "tests/unit/text_parsers/chunking.h"

namespace tandem::text::testing {

inline std::vector<ToolSpec> weather_tools() {
  return {
      {"get_weather",
       R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},)"
       R"("metric":{"type":"boolean"},"temp":{"type":["number","null"]},)"
       R"("opts":{"type":"object"},"tags":{"type":"array"}}})"},
      {"get_time", ""},
  };
}

inline std::unique_ptr<ToolParser> make(std::string_view name) {
  auto p = make_tool_parser(name, weather_tools());
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return std::move(*p);
}

inline ParseResult stream(ToolParser& p, const std::vector<std::string>& chunks) {
  ParseResult r;
  int opened = 0;
  auto take = [&](const StreamDelta& d) {
    for (const ToolCallDelta& td : d.deltas) {
      if (td.name.has_value()) {
        EXPECT_EQ(td.index, opened) << "calls must open in index order";
        ++opened;
      } else {
        EXPECT_LT(td.index, opened) << "argument delta for a call not yet opened";
      }
    }
    accumulate(r, d);
  };
  for (const std::string& c : chunks) take(p.feed(c));
  take(p.finish());
  return r;
}

inline void expect_calls(const ParseResult& got, const ParseResult& want, std::string_view what) {
  EXPECT_EQ(got.normal_text, want.normal_text) << what;
  ASSERT_EQ(got.calls.size(), want.calls.size()) << what;
  for (size_t i = 0; i < want.calls.size(); ++i) {
    EXPECT_EQ(got.calls[i].name, want.calls[i].name) << what << " call " << i;
    EXPECT_EQ(got.calls[i].arguments_json, want.calls[i].arguments_json) << what << " call " << i;
  }
}

inline void expect_all(std::string_view parser, std::string_view text, const ParseResult& want) {
  auto p = make(parser);
  expect_calls(p->parse_complete(text), want, "parse_complete");
  for (const auto& chunks : chunkings(text)) {
    p->reset();
    expect_calls(stream(*p, chunks), want, std::to_string(chunks.size()) + " chunks");
  }
}

inline void expect_passthrough(std::string_view parser, std::string_view text) {
  expect_all(parser, text, ParseResult{std::string(text), {}});
}

}  // namespace tandem::text::testing
