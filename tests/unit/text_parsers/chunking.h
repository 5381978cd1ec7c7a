// Chunkings used to check that streaming results do not depend on delta boundaries: one-shot,
// byte by byte, UTF-8 character by character, and random splits from a fixed seed.
#pragma once

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::text::testing {

inline std::vector<std::string> split_at(std::string_view text, const std::vector<size_t>& cuts) {
  std::vector<std::string> out;
  size_t prev = 0;
  for (size_t cut : cuts) {
    out.emplace_back(text.substr(prev, cut - prev));
    prev = cut;
  }
  out.emplace_back(text.substr(prev));
  return out;
}

// Splits only at UTF-8 character starts, as the incremental detokenizer does.
inline std::vector<std::string> by_char(std::string_view text) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) cuts.push_back(i);
  }
  return split_at(text, cuts);
}

inline std::vector<std::string> by_byte(std::string_view text) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < text.size(); ++i) cuts.push_back(i);
  return split_at(text, cuts);
}

// Random cuts at character starts; empty chunks allowed (deltas can be empty).
inline std::vector<std::string> random_chunks(std::string_view text, std::mt19937& rng) {
  std::vector<size_t> cuts;
  std::uniform_int_distribution<int> step(0, 6);
  size_t pos = 0;
  while (pos < text.size()) {
    pos += step(rng);
    while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    if (pos >= text.size()) break;
    cuts.push_back(pos);
  }
  return split_at(text, cuts);
}

// All chunkings of `text` to check: one-shot, by char, by byte (ASCII-only callers), 20 random.
inline std::vector<std::vector<std::string>> chunkings(std::string_view text, bool bytes = true) {
  std::vector<std::vector<std::string>> all{{std::string(text)}, by_char(text)};
  if (bytes) all.push_back(by_byte(text));
  std::mt19937 rng(1234);
  for (int i = 0; i < 20; ++i) all.push_back(random_chunks(text, rng));
  return all;
}

}  // namespace tandem::text::testing
