// Python `str` semantics over UTF-8 bytes: what Jinja templates see when they index, slice, strip,
// split or change the case of a string. Python strings are sequences of code points, ours are
// UTF-8, so every length and index here counts code points. Bytes that are not valid UTF-8 are
// carried through unchanged (decoded to lone surrogates U+DC80..U+DCFF and encoded back, as
// Python's "surrogateescape" does), so nothing a template does can corrupt them.
// Case mapping covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic one-to-one mappings;
// 'ß'.upper() is 'SS'; other scripts are left unchanged (a gap only exotic templates would hit).
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::text::jinja {

bool is_ascii(std::string_view s);
std::u32string utf8_decode(std::string_view s);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(std::u32string_view s);
// Number of code points (Python len()).
size_t codepoint_count(std::string_view s);

// Python's str.isspace() for one code point.
bool is_py_space(char32_t cp);

// str.strip() / lstrip() / rstrip(): with `chars` unset strips Python whitespace, otherwise
// every code point found in `chars`.
enum class StripSide { kBoth, kLeft, kRight };
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, StripSide side);

std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string py_title(std::string_view s);       // str.title()
bool py_isupper(std::string_view s);
bool py_islower(std::string_view s);

// str.split(sep, maxsplit) / rsplit; sep unset splits on runs of whitespace. maxsplit < 0: no limit.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep,
                                   int64_t maxsplit);
std::vector<std::string> py_splitlines(std::string_view s);
// str.replace(old, new, count); count < 0: all.
std::string py_replace(std::string_view s, std::string_view old_sub, std::string_view new_sub,
                       int64_t count);

// Python slice arithmetic (PySlice_AdjustIndices): the selected indices of a sequence of `length`.
struct SliceSpec {
  std::optional<int64_t> start, stop, step;
};
// Fails only for step == 0 (returns nullopt).
std::optional<std::vector<int64_t>> slice_indices(int64_t length, const SliceSpec& spec);
std::optional<std::string> py_slice(std::string_view s, const SliceSpec& spec);

// Python repr() of a string: quotes chosen as Python does, escapes for control characters.
std::string py_repr(std::string_view s);

}  // namespace tandem::text::jinja
