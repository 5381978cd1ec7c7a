// UTF-8 helpers shared by the tokenizer stages. Tokenizer input is arbitrary bytes (a client may
// send invalid UTF-8); output text is always valid UTF-8, with invalid bytes replaced the way Rust's
// String::from_utf8_lossy does (one U+FFFD per maximal invalid subpart), because that is what the
// HF `tokenizers` decoders do and Tandem's decode must match them byte for byte.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::text {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the bytes there do not
// start one (invalid lead, bad continuation, overlong, surrogate, > U+10FFFF, or truncated).
size_t utf8_sequence_length(std::string_view s, size_t i);

// Length in bytes of the maximal invalid subpart at s[i] (>= 1), for a position where
// utf8_sequence_length() returned 0: the lead byte plus the continuation bytes that were still
// acceptable before the sequence broke.
size_t utf8_invalid_subpart_length(std::string_view s, size_t i);

// True when the bytes at s[i..] are a proper prefix of some well-formed sequence, i.e. more bytes
// could still complete it. Used by streaming decoders to hold such a tail back.
bool utf8_is_incomplete_prefix(std::string_view s, size_t i);

bool is_valid_utf8(std::string_view s);

// Appends `bytes` to `out` replacing each maximal invalid subpart by U+FFFD.
void append_utf8_lossy(std::string_view bytes, std::string* out);

// Decodes the code point at s[i] (valid sequence required) and returns its length.
size_t decode_utf8(std::string_view s, size_t i, char32_t* cp);
void append_utf8(char32_t cp, std::string* out);

// Number of code points in valid UTF-8 (invalid bytes count one each).
size_t utf8_length(std::string_view s);

// Streaming version of append_utf8_lossy: push() emits every byte whose fate is decided and holds
// back a trailing incomplete sequence; finish() flushes it (as U+FFFD, as the batch version would).
// The concatenation of all outputs equals append_utf8_lossy(all input). Not thread-safe.
class Utf8LossyStream {
 public:
  void push(std::string_view bytes, std::string* out);
  void finish(std::string* out);
  bool has_pending() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace tandem::text
