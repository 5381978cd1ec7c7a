// JSON helpers for the tool parsers: where a JSON object ends in streamed text, the one
// normalisation of arguments every format uses, and `{"name": ..., "arguments": {...}}` calls.
// Pure functions; thread-safe. Boost.JSON stays out of this header (fwd declarations only).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "gateway/text/tool_parsers/tool_catalog.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::text {

// Finds where a JSON object that starts at text[0] == '{' ends, in text that grows between calls:
// each scan() resumes where the last stopped, so a long streamed object costs linear time.
// Balances {} and [] outside strings (escapes honoured); does not validate the JSON.
// Not thread-safe; one per object being scanned.
class JsonObjectScanner {
 public:
  // `text` must extend the text passed last time. Returns the length of the balanced {...}
  // prefix, or 0 while the object is still open.
  size_t scan(std::string_view text);

 private:
  size_t pos_ = 0;
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

// One-shot form of JsonObjectScanner::scan.
inline size_t json_object_extent(std::string_view text) { return JsonObjectScanner().scan(text); }

// Compact serialisation: no whitespace, object keys in stored (= model) order, strings escaped
// by Boost.JSON, integers as integers, doubles in the shortest form that round-trips ("2.5").
std::string to_compact_json(const boost::json::value& value);

// Parses one call object: "name" (a string naming a known tool) plus "arguments" or
// "parameters" (a JSON object, or a JSON string holding one; absent means {}). nullopt when
// anything does not fit.
std::optional<ToolCall> parse_json_call(std::string_view json, const ToolCatalog& catalog);

}  // namespace tandem::text
