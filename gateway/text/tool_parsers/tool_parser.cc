#include "gateway/text/tool_parsers/tool_parser.h"

#include "common/check.h"

namespace tandem::text {

void accumulate(ParseResult& result, const StreamDelta& delta) {
  result.normal_text += delta.normal_text;
  for (const ToolCallDelta& d : delta.deltas) {
    if (d.name.has_value()) {
      CHECK(d.index == static_cast<int>(result.calls.size()),
            "tool call delta opens call {} but {} calls were seen", d.index, result.calls.size());
      result.calls.push_back(ToolCall{*d.name, ""});
    }
    CHECK(d.index >= 0 && d.index < static_cast<int>(result.calls.size()),
          "tool call delta for call {} but {} calls were opened", d.index, result.calls.size());
    result.calls[d.index].arguments_json += d.arguments_delta;
  }
}

ParseResult ToolParser::parse_complete(std::string_view text) {
  reset();
  ParseResult result;
  accumulate(result, feed(text));
  accumulate(result, finish());
  reset();
  return result;
}

}  // namespace tandem::text
