#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {
namespace {

enum class Scan { kValid, kInvalid, kIncomplete };

// Walks the sequence at s[i] following the Unicode well-formedness table (Table 3-7), which is
// also what Rust's from_utf8_lossy uses to delimit "maximal subparts". *len is the sequence
// length (kValid), the maximal invalid subpart (kInvalid) or the bytes present (kIncomplete).
Scan scan(std::string_view s, size_t i, size_t* len) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *len = 1;
    return Scan::kValid;
  }
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // accepted range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    *len = 1;
    return Scan::kInvalid;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      *len = k;
      return Scan::kIncomplete;
    }
    const auto b = static_cast<uint8_t>(s[i + k]);
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      *len = k;
      return Scan::kInvalid;
    }
  }
  *len = need + 1;
  return Scan::kValid;
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t i) {
  size_t len;
  return scan(s, i, &len) == Scan::kValid ? len : 0;
}

size_t utf8_invalid_subpart_length(std::string_view s, size_t i) {
  size_t len;
  scan(s, i, &len);
  return len;
}

bool utf8_is_incomplete_prefix(std::string_view s, size_t i) {
  size_t len;
  return scan(s, i, &len) == Scan::kIncomplete;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    if (scan(s, i, &len) != Scan::kValid) return false;
    i += len;
  }
  return true;
}

void append_utf8_lossy(std::string_view bytes, std::string* out) {
  size_t i = 0, run = 0;  // [run, i) is a stretch of valid bytes not yet copied
  while (i < bytes.size()) {
    size_t len;
    if (scan(bytes, i, &len) == Scan::kValid) {
      i += len;
      continue;
    }
    out->append(bytes.substr(run, i - run));
    out->append(kReplacementChar);
    i += len;
    run = i;
  }
  out->append(bytes.substr(run));
}

size_t decode_utf8(std::string_view s, size_t i, char32_t* cp) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  const size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t v = b0 & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) v = (v << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  *cp = v;
  return len;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_length(std::string_view s) {
  size_t n = 0, i = 0;
  while (i < s.size()) {
    size_t len;
    scan(s, i, &len);
    i += len;
    ++n;
  }
  return n;
}

void Utf8LossyStream::push(std::string_view bytes, std::string* out) {
  pending_.append(bytes);
  // Find where a trailing incomplete sequence starts (at most 3 bytes back); everything before
  // it is decided: a later byte can neither repair an invalid subpart nor break a valid one.
  size_t keep_from = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const size_t i = pending_.size() - back;
    const auto b = static_cast<uint8_t>(pending_[i]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    if (utf8_is_incomplete_prefix(pending_, i)) keep_from = i;
    break;
  }
  append_utf8_lossy(std::string_view(pending_).substr(0, keep_from), out);
  pending_.erase(0, keep_from);
}

void Utf8LossyStream::finish(std::string* out) {
  append_utf8_lossy(pending_, out);
  pending_.clear();
}

}  // namespace tandem::text
