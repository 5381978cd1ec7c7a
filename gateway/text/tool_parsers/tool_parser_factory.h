// make_tool_parser: picks the ToolParser for a config string. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::text {

// Names: "hermes" (alias "qwen25"), "llama3", "qwen3_coder". `tools` is the request's function
// list; calls naming anything else pass through as text. Fails on an unknown parser name, an
// empty tool name, or parameters_json that is not a JSON object.
StatusOr<std::unique_ptr<ToolParser>> make_tool_parser(std::string_view name,
                                                       const std::vector<ToolSpec>& tools);

}  // namespace tandem::text
