// JSON in and out of template Values.
//  - parse_json_value: JSON text -> Value, as Python's json.loads would build it (objects keep key
//    order, integers stay integers, other numbers become floats). Boost.JSON does the parsing; its
//    exceptions stop here.
//  - dump_json: Value -> JSON text with the semantics of Python's json.dumps as Hugging Face's
//    `tojson` filter calls it (ensure_ascii=False by default, indent, separators, sort_keys).
// Boost.JSON stays out of this header on purpose (compile time of everything that includes it).
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/text/template/value.h"

namespace tandem::text::jinja {

// `what` names the input in error messages ("messages_json").
StatusOr<Value> parse_json_value(std::string_view text, std::string_view what);

struct JsonDumpOptions {
  bool ensure_ascii = false;
  // Unset: one line. Set: newline + this string repeated per nesting level (Python's indent=N is
  // N spaces; indent="\t" is a tab).
  std::optional<std::string> indent;
  // Unset: Python's defaults, ", " (or "," when indenting) and ": ".
  std::optional<std::string> item_separator;
  std::optional<std::string> key_separator;
  bool sort_keys = false;
};

// Fails, like json.dumps, on values JSON cannot hold (Undefined, namespaces, callables), naming
// the type: "Object of type Undefined is not JSON serializable".
StatusOr<std::string> dump_json(const Value& value, const JsonDumpOptions& options);

}  // namespace tandem::text::jinja
