// Hermes / Qwen2.5 tool calls: `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>`,
// any number of blocks, text around them is content. Config names "hermes" and "qwen25".
// Thread model: as ToolParser.
#pragma once

#include "gateway/text/tool_parsers/block_tool_parser.h"

namespace tandem::text {

class HermesParser final : public BlockToolParser {
 public:
  explicit HermesParser(ToolCatalog catalog);

 protected:
  std::optional<std::vector<ToolCall>> parse_block(std::string_view body) const override;
};

}  // namespace tandem::text
