#include "gateway/text/template/source_pos.h"

#include <algorithm>

namespace tandem::text::jinja {

LineIndex::LineIndex(std::string_view source) : source_(source) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\n') line_starts_.push_back(i + 1);
  }
}

SourcePos LineIndex::at(size_t offset) {
  offset = std::min(offset, source_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  int line = static_cast<int>(it - line_starts_.begin());  // 1-based
  size_t start = line_starts_[static_cast<size_t>(line) - 1];
  int column = 1;
  if (line == cached_line_ && offset >= cached_offset_ && cached_offset_ >= start) {
    start = cached_offset_;
    column = cached_column_;
  }
  for (size_t i = start; i < offset; ++i) {
    // Count code points: skip UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(source_[i]) & 0xC0) != 0x80) ++column;
  }
  cached_offset_ = offset;
  cached_line_ = line;
  cached_column_ = column;
  return SourcePos{line, column};
}

Status syntax_error(SourcePos pos, std::string message) {
  return invalid_argument("template syntax error at line {}, column {}: {}", pos.line, pos.column,
                          message);
}

}  // namespace tandem::text::jinja
