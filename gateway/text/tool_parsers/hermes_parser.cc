#include "gateway/text/tool_parsers/hermes_parser.h"

#include <utility>

#include "gateway/text/tool_parsers/json_call.h"

namespace tandem::text {

HermesParser::HermesParser(ToolCatalog catalog)
    : BlockToolParser(std::move(catalog), "<tool_call>", "</tool_call>") {}

// One JSON call object per block; whitespace around it is allowed (Boost.JSON skips it).
std::optional<std::vector<ToolCall>> HermesParser::parse_block(std::string_view body) const {
  std::optional<ToolCall> call = parse_json_call(body, catalog());
  if (!call.has_value()) return std::nullopt;
  return std::vector<ToolCall>{std::move(*call)};
}

}  // namespace tandem::text
