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

// Maps byte offsets of one source text to SourcePos.
class LineIndex {
 public:
  explicit LineIndex(std::string_view source);
  SourcePos at(size_t offset) const;

 private:
  std::string_view source_;
  std::vector<size_t> line_starts_;
};

// "template syntax error at line 3, column 14: <message>" (code kInvalidArgument).
Status syntax_error(SourcePos pos, std::string message);

}  // namespace tandem::text::jinja
