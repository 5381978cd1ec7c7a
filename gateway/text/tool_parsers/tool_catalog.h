// ToolCatalog: the request's functions as the parsers need them: which names exist, and the
// JSON-schema type of each parameter (qwen3_coder converts parameter text by it).
// Immutable after create(); thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::text {

class ToolCatalog {
 public:
  // Fails when a name is empty or a non-empty parameters_json is not a JSON object.
  static StatusOr<ToolCatalog> create(const std::vector<ToolSpec>& tools);

  bool knows(std::string_view function) const { return types_.find(function) != types_.end(); }
  // The schema type of `param` ("string", "integer", "number", "boolean", "object", "array"),
  // the first non-"null" one when the schema gives a list; "" when unknown.
  std::string_view param_type(std::string_view function, std::string_view param) const;

 private:
  using ParamTypes = std::map<std::string, std::string, std::less<>>;
  std::map<std::string, ParamTypes, std::less<>> types_;
};

}  // namespace tandem::text
