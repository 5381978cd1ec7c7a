#include "bench/serving/sse_parser.h"

namespace tandem::bench {

void SseParser::feed(std::string_view bytes, std::vector<std::string>* events) {
  size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < bytes.size()) {
    const size_t end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      partial_line_.append(bytes.substr(i));
      return;
    }
    std::string_view piece = bytes.substr(i, end - i);
    if (partial_line_.empty()) {
      take_line(piece, events);
    } else {
      partial_line_.append(piece);
      std::string line = std::move(partial_line_);
      partial_line_.clear();
      take_line(line, events);
    }
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
  }
}

void SseParser::finish(std::vector<std::string>* events) {
  if (!partial_line_.empty()) {
    std::string line = std::move(partial_line_);
    partial_line_.clear();
    take_line(line, events);
  }
  take_line("", events);
}

void SseParser::take_line(std::string_view line, std::vector<std::string>* events) {
  if (line.empty()) {  // blank line: dispatch
    if (has_data_) events->push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line[0] == ':') return;  // comment / keep-alive
  const size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

}  // namespace tandem::bench
