// AddedTokenMatcher: finds added/special tokens ("<|im_start|>") in text so they become single ids
// and the text between them is tokenized separately. Matching follows HF's AddedVocabulary:
// leftmost-longest, non-overlapping; then per token single_word (discard a match glued to a word
// character), lstrip/rstrip (swallow adjacent Unicode whitespace).
// Immutable after construction; split() is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "gateway/text/tokenizer/regex.h"
#include "gateway/text/tokenizer/tokenizer_spec.h"

namespace tandem::text {

struct TextSegment {
  std::string_view text;
  int32_t token_id = -1;  // >= 0: an added token (text is what it covered, stripped spaces included)
  size_t offset = 0;      // byte offset of text in the string passed to split()
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedTokenSpec> tokens);

  bool empty() const { return tokens_.empty(); }
  // Appends segments covering all of text, in order. Empty text gives no segment.
  void split(std::string_view text, std::vector<TextSegment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                 // index into tokens_ ending here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  // Longest token starting at text[pos]: its index, or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t* end) const;

  std::vector<AddedTokenSpec> tokens_;
  std::vector<Node> nodes_;                // nodes_[0] is the root
  std::array<int32_t, 256> root_next_{};   // root's children by first byte, -1 when none
  std::shared_ptr<const Regex> word_char_;  // one-character test; only when a token is single_word
};

// Unicode White_Space (what Rust's \s matches), for lstrip/rstrip.
bool is_unicode_whitespace(char32_t cp);

}  // namespace tandem::text
