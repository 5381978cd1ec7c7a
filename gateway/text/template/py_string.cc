#include "gateway/text/template/py_string.h"

#include <algorithm>

#include <fmt/format.h>

namespace tandem::text::jinja {
namespace {

// Invalid bytes travel as lone low surrogates, like Python's surrogateescape error handler.
constexpr char32_t kEscapeBase = 0xDC00;

bool is_escaped_byte(char32_t cp) { return cp >= 0xDC80 && cp <= 0xDCFF; }

char32_t to_upper_cp(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x178) return c;
    bool odd_is_lower = (c <= 0x137) || (c >= 0x14A && c <= 0x177);
    if (odd_is_lower) return (c & 1) ? c - 1 : c;
    return (c & 1) ? c : c - 1;  // 0x139..0x148 and 0x179..0x17E: even code points are lower
  }
  if (c >= 0x3B1 && c <= 0x3C9) return c == 0x3C2 ? 0x3A3 : c - 32;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

char32_t to_lower_cp(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F) return c;
    bool odd_is_lower = (c <= 0x137) || (c >= 0x14A && c <= 0x177);
    if (odd_is_lower) return (c & 1) ? c : c + 1;
    return (c & 1) ? c + 1 : c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool is_lower_cp(char32_t c) {
  return to_upper_cp(c) != c || c == 0xDF || c == 0x138 || c == 0x149;
}
bool is_upper_cp(char32_t c) { return to_lower_cp(c) != c; }
bool is_cased_cp(char32_t c) { return is_lower_cp(c) || is_upper_cp(c); }

template <typename Fn>
std::string map_codepoints(std::string_view s, Fn fn) {
  std::string out;
  out.reserve(s.size());
  if (is_ascii(s)) {
    for (char c : s) out.push_back(static_cast<char>(fn(static_cast<char32_t>(c))));
    return out;
  }
  for (char32_t cp : utf8_decode(s)) utf8_append(out, fn(cp));
  return out;
}

bool is_line_break(char32_t c) {
  return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
         c == 0x85 || c == 0x2028 || c == 0x2029;
}

// Python's str.isprintable() for the code points a chat template is likely to hold.
bool is_printable(char32_t c) {
  if (c < 0x20 || c == 0x7F) return false;
  if (c < 0x7F) return true;
  if (c <= 0xA0 || c == 0xAD) return false;  // C1 controls, no-break space, soft hyphen
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF) return false;
  if (c >= 0xD800 && c <= 0xF8FF) return false;  // surrogates and private use
  if (c >= 0xF0000) return false;
  return true;
}

// Splits on runs of Python whitespace, at most `maxsplit` times from the left.
std::vector<std::string> split_whitespace(const std::u32string& cps, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t i = 0, n = cps.size();
  while (i < n) {
    while (i < n && is_py_space(cps[i])) ++i;
    if (i == n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      // Python keeps the remainder's trailing whitespace after the last allowed split.
      out.push_back(utf8_encode(std::u32string_view(cps).substr(i, n - i)));
      return out;
    }
    size_t j = i;
    while (j < n && !is_py_space(cps[j])) ++j;
    out.push_back(utf8_encode(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> rsplit_whitespace(const std::u32string& cps, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t n = cps.size();
  size_t end = n;
  while (end > 0) {
    while (end > 0 && is_py_space(cps[end - 1])) --end;
    if (end == 0) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(utf8_encode(std::u32string_view(cps).substr(0, end)));
      break;
    }
    size_t begin = end;
    while (begin > 0 && !is_py_space(cps[begin - 1])) --begin;
    out.push_back(utf8_encode(std::u32string_view(cps).substr(begin, end - begin)));
    end = begin;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

std::u32string utf8_decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0, n = s.size();
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  while (i < n) {
    unsigned char b = byte(i);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int len = 0;
    char32_t cp = 0, min = 0;
    if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07, min = 0x10000;
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) {
      unsigned char c = byte(i + k);
      if ((c & 0xC0) != 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      out.push_back(kEscapeBase + b);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void utf8_append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (is_escaped_byte(cp)) {
    out.push_back(static_cast<char>(cp - kEscapeBase));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_encode(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t cp : s) utf8_append(out, cp);
  return out;
}

size_t codepoint_count(std::string_view s) {
  if (is_ascii(s)) return s.size();
  return utf8_decode(s).size();
}

bool is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, StripSide side) {
  std::u32string set;
  if (chars) set = utf8_decode(*chars);
  auto strip_it = [&](char32_t cp) {
    return chars ? set.find(cp) != std::u32string::npos : is_py_space(cp);
  };
  std::u32string cps = utf8_decode(s);
  size_t begin = 0, end = cps.size();
  if (side != StripSide::kRight) {
    while (begin < end && strip_it(cps[begin])) ++begin;
  }
  if (side != StripSide::kLeft) {
    while (end > begin && strip_it(cps[end - 1])) --end;
  }
  return utf8_encode(std::u32string_view(cps).substr(begin, end - begin));
}

std::string py_upper(std::string_view s) {
  std::string out = map_codepoints(s, to_upper_cp);
  // The one full (one-to-many) case mapping templates are likely to meet: 'ß'.upper() == 'SS'.
  if (out.find("\xC3\x9F") != std::string::npos) out = py_replace(out, "\xC3\x9F", "SS", -1);
  return out;
}
std::string py_lower(std::string_view s) { return map_codepoints(s, to_lower_cp); }

std::string py_capitalize(std::string_view s) {
  std::u32string cps = utf8_decode(s);
  for (size_t i = 0; i < cps.size(); ++i) cps[i] = i == 0 ? to_upper_cp(cps[i]) : to_lower_cp(cps[i]);
  return utf8_encode(cps);
}

std::string py_title(std::string_view s) {
  std::u32string cps = utf8_decode(s);
  bool previous_cased = false;
  for (char32_t& cp : cps) {
    if (is_cased_cp(cp)) {
      cp = previous_cased ? to_lower_cp(cp) : to_upper_cp(cp);
      previous_cased = true;
    } else {
      previous_cased = false;
    }
  }
  return utf8_encode(cps);
}

bool py_isupper(std::string_view s) {
  bool cased = false;
  for (char32_t cp : utf8_decode(s)) {
    if (is_lower_cp(cp)) return false;
    if (is_upper_cp(cp)) cased = true;
  }
  return cased;
}

bool py_islower(std::string_view s) {
  bool cased = false;
  for (char32_t cp : utf8_decode(s)) {
    if (is_upper_cp(cp)) return false;
    if (is_lower_cp(cp)) cased = true;
  }
  return cased;
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit) {
  if (!sep) return split_whitespace(utf8_decode(s), maxsplit);
  std::vector<std::string> out;
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    size_t hit = s.find(*sep, pos);
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, hit - pos));
    pos = hit + sep->size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep,
                                   int64_t maxsplit) {
  if (!sep) return rsplit_whitespace(utf8_decode(s), maxsplit);
  std::vector<std::string> out;
  size_t end = s.size();
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    if (end < sep->size()) break;
    size_t hit = s.rfind(*sep, end - sep->size());
    if (hit == std::string_view::npos) break;
    out.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
    end = hit;
  }
  out.emplace_back(s.substr(0, end));
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s) {
  std::u32string cps = utf8_decode(s);
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < cps.size()) {
    if (!is_line_break(cps[i])) {
      ++i;
      continue;
    }
    out.push_back(utf8_encode(std::u32string_view(cps).substr(start, i - start)));
    if (cps[i] == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    start = ++i;
  }
  if (start < cps.size()) out.push_back(utf8_encode(std::u32string_view(cps).substr(start)));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old_sub, std::string_view new_sub,
                       int64_t count) {
  std::string out;
  if (old_sub.empty()) {
    // Python inserts `new` before every code point and at the end.
    std::u32string cps = utf8_decode(s);
    int64_t done = 0;
    for (char32_t cp : cps) {
      if (count < 0 || done < count) out.append(new_sub), ++done;
      utf8_append(out, cp);
    }
    if (count < 0 || done < count) out.append(new_sub);
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t hit = s.find(old_sub, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(new_sub);
    pos = hit + old_sub.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

std::optional<std::vector<int64_t>> slice_indices(int64_t length, const SliceSpec& spec) {
  int64_t step = spec.step.value_or(1);
  if (step == 0) return std::nullopt;
  auto adjust = [&](std::optional<int64_t> v, bool is_start) {
    if (!v) {
      if (step < 0) return is_start ? length - 1 : int64_t{-1};
      return is_start ? int64_t{0} : length;
    }
    int64_t x = *v;
    if (x < 0) {
      x += length;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= length) {
      x = step < 0 ? length - 1 : length;
    }
    return x;
  };
  int64_t start = adjust(spec.start, true);
  int64_t stop = adjust(spec.stop, false);
  std::vector<int64_t> out;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) out.push_back(i);
  } else {
    for (int64_t i = start; i > stop; i += step) out.push_back(i);
  }
  return out;
}

std::optional<std::string> py_slice(std::string_view s, const SliceSpec& spec) {
  bool ascii = is_ascii(s);
  std::u32string cps;
  if (!ascii) cps = utf8_decode(s);
  int64_t length = static_cast<int64_t>(ascii ? s.size() : cps.size());
  auto idx = slice_indices(length, spec);
  if (!idx) return std::nullopt;
  std::string out;
  out.reserve(idx->size());
  for (int64_t i : *idx) {
    if (ascii) out.push_back(s[static_cast<size_t>(i)]);
    else utf8_append(out, cps[static_cast<size_t>(i)]);
  }
  return out;
}

std::string py_repr(std::string_view s) {
  char quote = '\'';
  if (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) quote = '"';
  std::string out(1, quote);
  for (char32_t cp : utf8_decode(s)) {
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (is_printable(cp) && !is_escaped_byte(cp)) {
      utf8_append(out, cp);
    } else if (cp < 0x100) {
      out += fmt::format("\\x{:02x}", static_cast<uint32_t>(cp));
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
    } else {
      out += fmt::format("\\U{:08x}", static_cast<uint32_t>(cp));
    }
  }
  out.push_back(quote);
  return out;
}

}  // namespace tandem::text::jinja
