#include "gateway/text/tool_parsers/block_tool_parser.h"

#include <utility>

#include "gateway/text/stop/partial_match.h"

namespace tandem::text {

BlockToolParser::BlockToolParser(ToolCatalog catalog, std::string start_tag, std::string end_tag)
    : catalog_(std::move(catalog)), start_tag_(std::move(start_tag)), end_tag_(std::move(end_tag)) {}

bool BlockToolParser::has_tool_call(std::string_view text) const {
  return text.find(start_tag_) != std::string_view::npos;
}

void BlockToolParser::reset() {
  held_.clear();
  in_block_ = false;
  end_search_from_ = 0;
  skip_space_ = false;
  next_index_ = 0;
}

StreamDelta BlockToolParser::feed(std::string_view delta) {
  held_.append(delta);
  StreamDelta out;
  drain(out);
  return out;
}

void BlockToolParser::drain(StreamDelta& out) {
  for (;;) {
    std::string_view text = held_;
    if (!in_block_) {
      if (skip_space_) {
        size_t first = 0;
        while (first < text.size() && is_json_space(text[first])) ++first;
        held_.erase(0, first);
        if (held_.empty()) return;
        skip_space_ = false;
        text = held_;
      }
      size_t start = text.find(start_tag_);
      if (start == std::string_view::npos) {
        size_t keep = partial_suffix_len(text, start_tag_);
        out.normal_text.append(text.substr(0, text.size() - keep));
        held_.erase(0, text.size() - keep);
        return;
      }
      out.normal_text.append(text.substr(0, start));
      held_.erase(0, start + start_tag_.size());
      in_block_ = true;
      end_search_from_ = 0;
      continue;
    }
    size_t end = text.find(end_tag_, end_search_from_);
    if (end == std::string_view::npos) {
      // The whole block is needed to decide. Rescan only the tail next time, so a long block
      // streamed in small deltas costs linear time.
      end_search_from_ = text.size() >= end_tag_.size() ? text.size() - end_tag_.size() + 1 : 0;
      return;
    }
    std::string body(text.substr(0, end));
    held_.erase(0, end + end_tag_.size());
    close_block(body, /*has_end_tag=*/true, out);
  }
}

void BlockToolParser::close_block(std::string_view body, bool has_end_tag, StreamDelta& out) {
  in_block_ = false;
  std::optional<std::vector<ToolCall>> calls = parse_block(body);
  if (!calls.has_value() || calls->empty()) {
    out.normal_text.append(start_tag_);
    out.normal_text.append(body);
    if (has_end_tag) out.normal_text.append(end_tag_);
    return;
  }
  for (ToolCall& call : *calls) {
    out.deltas.push_back(ToolCallDelta{next_index_++, std::move(call.name),
                                       std::move(call.arguments_json)});
  }
  skip_space_ = true;
}

StreamDelta BlockToolParser::finish() {
  StreamDelta out;
  if (in_block_) {
    std::string body = std::move(held_);
    held_.clear();
    close_block(body, /*has_end_tag=*/false, out);
  } else if (!skip_space_) {
    out.normal_text = std::move(held_);  // a partial start tag is just text
  }
  held_.clear();
  return out;
}

}  // namespace tandem::text
