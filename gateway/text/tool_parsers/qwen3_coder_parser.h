// Qwen3-Coder XML tool calls. Config name "qwen3_coder".
//
//   <tool_call>
//   <function=NAME>
//   <parameter=P>
//   VALUE
//   </parameter>
//   ...
//   </function>
//   </tool_call>
//
// VALUE loses one leading and one trailing newline, then is converted by the JSON-schema type
// of P in the tool's parameters: "string" (and unknown parameters / no type) stays a string;
// integer, number, boolean, object and array are parsed as JSON ("True"/"False" accepted for
// boolean), falling back to the string when that fails; the literal `null` becomes null for any
// non-string type. Lenient where models are sloppy: a missing </parameter> ends at the next
// <parameter= or </function>, a missing </function> at the end of the block; several
// <function=…> in one block give several calls. Thread model: as ToolParser.
#pragma once

#include "gateway/text/tool_parsers/block_tool_parser.h"

namespace tandem::text {

class Qwen3CoderParser final : public BlockToolParser {
 public:
  explicit Qwen3CoderParser(ToolCatalog catalog);

 protected:
  std::optional<std::vector<ToolCall>> parse_block(std::string_view body) const override;
};

}  // namespace tandem::text
