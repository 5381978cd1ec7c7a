// Llama 3.x JSON tool calls. Config name "llama3".
//
// The output is a tool call only when, after leading whitespace, it starts with `{` or
// `<|python_tag|>`; otherwise all of it is content, untouched. A tool-call output is one or more
// `{"name": "f", "parameters": {...}}` objects ("arguments" accepted too) separated by `;`.
// Each object is emitted once its closing brace arrives and it validates. If an object is
// malformed or names an unknown function, it and everything after it go out as content, together
// with the separator or prefix (whitespace, `<|python_tag|>`, `;`) consumed right before it.
// Whitespace and `;` between and after accepted calls are dropped; other text after a call is
// content. Thread model: as ToolParser.
#pragma once

#include <string>
#include <string_view>

#include "gateway/text/tool_parsers/json_call.h"
#include "gateway/text/tool_parsers/tool_catalog.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::text {

class Llama3Parser final : public ToolParser {
 public:
  explicit Llama3Parser(ToolCatalog catalog);

  bool has_tool_call(std::string_view text) const override;
  StreamDelta feed(std::string_view delta) override;
  StreamDelta finish() override;
  void reset() override;

 private:
  // kStart: deciding from the first non-space text; kExpectCall: before an object (after the
  // prefix or a `;`); kAfterCall: after an accepted object; kText: everything else is content.
  enum class State { kStart, kExpectCall, kAfterCall, kText };
  void drain(StreamDelta& out);
  void pass_through(StreamDelta& out);

  ToolCatalog catalog_;
  State state_ = State::kStart;
  std::string held_;
  JsonObjectScanner scanner_;  // over held_ while an object is open at held_[0]
  std::string consumed_;  // prefix/separator eaten since the last emitted item, for pass-through
  int next_index_ = 0;
};

}  // namespace tandem::text
