// BlockToolParser: the streaming machinery for formats that wrap each call in a start/end tag
// pair (hermes' and qwen3_coder's <tool_call>…</tool_call>). Subclasses only parse one block's
// body. Thread model: as ToolParser (one request, one thread at a time).
//
// Stream handling:
//  - outside a block, text is normal content, except a tail that could be the start tag (held);
//  - inside a block everything is held until the end tag; then the body is parsed: valid calls
//    are emitted (and whitespace right after the block is dropped, so newlines between calls do
//    not become content), invalid ones go out raw, tags included, as normal text;
//  - at finish() an unclosed block is parsed as if closed (models often stop right after the
//    last `}`), and goes out raw when that fails; a held partial start tag goes out as text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/text/tool_parsers/tool_catalog.h"
#include "gateway/text/tool_parsers/tool_parser.h"

namespace tandem::text {

class BlockToolParser : public ToolParser {
 public:
  bool has_tool_call(std::string_view text) const override;
  StreamDelta feed(std::string_view delta) override;
  StreamDelta finish() override;
  void reset() override;

 protected:
  BlockToolParser(ToolCatalog catalog, std::string start_tag, std::string end_tag);

  // The calls in one block body (text between the tags), or nullopt when the body is malformed
  // or names an unknown function; then the block passes through as text.
  virtual std::optional<std::vector<ToolCall>> parse_block(std::string_view body) const = 0;

  const ToolCatalog& catalog() const { return catalog_; }

 private:
  void drain(StreamDelta& out);
  void close_block(std::string_view body, bool has_end_tag, StreamDelta& out);

  ToolCatalog catalog_;
  std::string start_tag_;
  std::string end_tag_;
  std::string held_;
  bool in_block_ = false;
  size_t end_search_from_ = 0;  // in a block: held_ before this cannot hold the end tag
  bool skip_space_ = false;  // dropping whitespace after an accepted block
  int next_index_ = 0;
};

}  // namespace tandem::text
