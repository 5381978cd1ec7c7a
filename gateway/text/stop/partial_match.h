// Helpers shared by the streaming text post-processors (stop strings, tool-call and reasoning
// parsers): how much of a buffer's tail might still grow into a marker, and so must be held back.
// Pure functions over their arguments; thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace tandem::text {

// Length of the longest suffix of `text` that is a proper prefix of `marker` (0 if none).
// A suffix equal to the whole marker is not counted: the caller finds full matches with find().
inline size_t partial_suffix_len(std::string_view text, std::string_view marker) {
  if (marker.empty()) return 0;
  size_t longest = std::min(text.size(), marker.size() - 1);
  for (size_t len = longest; len > 0; --len) {
    if (text.substr(text.size() - len) == marker.substr(0, len)) return len;
  }
  return 0;
}

// True when `text` is a non-empty proper prefix of `marker`: more input could complete it.
inline bool is_proper_prefix(std::string_view text, std::string_view marker) {
  return !text.empty() && text.size() < marker.size() && marker.starts_with(text);
}

inline bool is_json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace tandem::text
