// A compiled PCRE2 pattern in UTF + UCP mode (Unicode properties for \p{L}, \s, ...), JIT-compiled
// when the platform supports it. Invalid UTF-8 in the subject is allowed: such bytes simply never
// match (PCRE2_MATCH_INVALID_UTF), so pre-tokenizers leave them in the gaps between matches.
// Immutable after compile(); for_each_match() is thread-safe (per-thread match data).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tandem::text {

struct MatchSpan {
  size_t start;
  size_t end;
};

class Regex {
 public:
  // INVALID_ARGUMENT with PCRE2's message and the error offset when the pattern does not compile.
  static StatusOr<std::shared_ptr<const Regex>> compile(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // All non-overlapping matches, left to right, iterated as Oniguruma does (what HF uses): after
  // an empty match the search resumes one character later, and no empty match is reported at
  // the end of the previous match.
  void find_all(std::string_view subject, std::vector<MatchSpan>* out) const;
  // Whether the pattern matches anywhere in subject.
  bool search(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*, kept out of the header (pcre2.h needs a width macro)
  std::string pattern_;
};

// Escapes a literal string for use inside a pattern.
std::string regex_escape(std::string_view literal);

}  // namespace tandem::text
