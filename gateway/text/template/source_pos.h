// Positions in a template's source and the error Status every stage reports them with.
// Thread-safe: value types and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::text::jinja {

// 1-based line and column (column counts code points, so it matches what an editor shows).
struct SourcePos {
  int line = 0;
  int column = 0;
  bool valid() const { return line > 0; }
};

// Maps byte offsets of one source text to SourcePos. Lookups at increasing offsets (as the lexer
// makes them) cost O(distance) in total, so a megabyte-long single-line template stays linear.
// Thread model: not thread-safe (caches the last lookup).
class LineIndex {
 public:
  explicit LineIndex(std::string_view source);
  SourcePos at(size_t offset);

 private:
  std::string_view source_;
  std::vector<size_t> line_starts_;
  size_t cached_offset_ = 0;  // the column of cached_offset_ on cached_line_ is cached_column_
  int cached_line_ = 1;
  int cached_column_ = 1;
};

// "template syntax error at line 3, column 14: <message>" (code kInvalidArgument).
Status syntax_error(SourcePos pos, std::string message);

}  // namespace tandem::text::jinja
