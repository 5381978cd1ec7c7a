#include "gateway/text/tokenizer/added_tokens.h"

#include <algorithm>
#include <utility>

#include "common/check.h"
#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {
namespace {

// Rust's Unicode \w, which HF uses for single_word: Alphabetic, marks, decimal digits,
// connector punctuation and the join controls.
constexpr const char* kWordCharClass = R"(\A[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]\z)";
constexpr const char* kWordCharFallback = R"(\A\w\z)";  // PCRE2 builds without Boolean properties

// The character ending at `end` (one whole UTF-8 sequence, or a single invalid byte).
std::string_view char_before(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && end - start < 4 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  if (utf8_sequence_length(s, start) != end - start) start = end - 1;
  return s.substr(start, end - start);
}

std::string_view char_at(std::string_view s, size_t pos) {
  const size_t len = utf8_sequence_length(s, pos);
  return s.substr(pos, len == 0 ? 1 : len);
}

bool is_space_char(std::string_view c) {
  if (utf8_sequence_length(c, 0) != c.size()) return false;
  char32_t cp;
  decode_utf8(c, 0, &cp);
  return is_unicode_whitespace(cp);
}

}  // namespace

bool is_unicode_whitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedTokenSpec> tokens) {
  root_next_.fill(-1);
  nodes_.emplace_back();
  bool any_single_word = false;
  for (AddedTokenSpec& t : tokens) {
    if (t.content.empty()) continue;  // HF ignores empty added tokens
    any_single_word |= t.single_word;
    tokens_.push_back(std::move(t));
  }
  for (size_t i = 0; i < tokens_.size(); ++i) {
    int32_t node = 0;
    for (char c : tokens_[i].content) {
      const auto b = static_cast<uint8_t>(c);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();  // invalidates references into nodes_, so index again below
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{-1})), {b, next});
        if (node == 0) root_next_[b] = next;
      }
      node = next;
    }
    // Two added tokens with the same content: the first one listed wins, like HF's map.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(i);
  }
  if (any_single_word) {
    auto re = Regex::compile(kWordCharClass);
    if (!re.ok()) re = Regex::compile(kWordCharFallback);
    CHECK(re.ok(), "word-character regex must compile: {}", re.status().to_string());
    word_char_ = *re;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_next_[byte];
  const auto& kids = nodes_[node].children;
  auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{-1}));
  return it != kids.end() && it->first == byte ? it->second : -1;
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t* end) const {
  int32_t best = -1;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) {
      best = nodes_[node].token;
      *end = i + 1;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>* out) const {
  if (text.empty()) return;
  size_t start_offset = 0;  // end of the last emitted segment
  size_t pos = 0;           // where the next match may start (matches never overlap)
  while (pos < text.size()) {
    if (root_next_[static_cast<uint8_t>(text[pos])] < 0) {
      ++pos;
      continue;
    }
    size_t stop = 0;
    const int32_t idx = longest_at(text, pos, &stop);
    if (idx < 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    pos = stop;  // a discarded match still consumes its text, as HF's Aho-Corasick iteration does
    if (start < start_offset) continue;  // inside a previous token's rstrip
    const AddedTokenSpec& tok = tokens_[idx];
    if (tok.single_word) {
      const bool word_before = start > 0 && word_char_->search(char_before(text, start));
      const bool word_after = stop < text.size() && word_char_->search(char_at(text, stop));
      if (word_before || word_after) continue;
    }
    if (tok.lstrip) {
      size_t s = start;
      while (s > start_offset) {
        const std::string_view c = char_before(text, s);
        if (!is_space_char(c)) break;
        s -= c.size();
      }
      start = s;
    }
    if (tok.rstrip) {
      while (stop < text.size()) {
        const std::string_view c = char_at(text, stop);
        if (!is_space_char(c)) break;
        stop += c.size();
      }
    }
    if (start > start_offset) out->push_back({text.substr(start_offset, start - start_offset), -1, start_offset});
    out->push_back({text.substr(start, stop - start), tok.id, start});
    start_offset = stop;
  }
  if (start_offset < text.size()) out->push_back({text.substr(start_offset), -1, start_offset});
}

}  // namespace tandem::text
