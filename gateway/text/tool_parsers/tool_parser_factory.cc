#include "gateway/text/tool_parsers/tool_parser_factory.h"

#include <utility>

#include "gateway/text/tool_parsers/hermes_parser.h"
#include "gateway/text/tool_parsers/llama3_parser.h"
#include "gateway/text/tool_parsers/qwen3_coder_parser.h"
#include "gateway/text/tool_parsers/tool_catalog.h"

namespace tandem::text {

StatusOr<std::unique_ptr<ToolParser>> make_tool_parser(std::string_view name,
                                                       const std::vector<ToolSpec>& tools) {
  StatusOr<ToolCatalog> catalog = ToolCatalog::create(tools);
  if (!catalog.ok()) return catalog.status();
  if (name == "hermes" || name == "qwen25") {
    return std::unique_ptr<ToolParser>(std::make_unique<HermesParser>(std::move(*catalog)));
  }
  if (name == "llama3") {
    return std::unique_ptr<ToolParser>(std::make_unique<Llama3Parser>(std::move(*catalog)));
  }
  if (name == "qwen3_coder") {
    return std::unique_ptr<ToolParser>(std::make_unique<Qwen3CoderParser>(std::move(*catalog)));
  }
  return invalid_argument("unknown tool parser '{}'; known: hermes, qwen25, llama3, qwen3_coder",
                          name);
}

}  // namespace tandem::text
