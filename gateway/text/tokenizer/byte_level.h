// GPT-2's byte-level alphabet: every byte value is spelled as one printable code point, so that a
// vocabulary of strings can hold arbitrary bytes ("Ġ" is the space byte 0x20, "Ċ" is '\n').
// Printable Latin-1 bytes stand for themselves; the other 68 map to U+0100.. in byte order.
// Immutable tables built once; all functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::text {

class ByteLevelAlphabet {
 public:
  static const ByteLevelAlphabet& get();

  char32_t byte_to_code_point(uint8_t b) const { return byte_to_cp_[b]; }
  // The UTF-8 spelling of byte b (1 or 2 bytes).
  std::string_view spelling(uint8_t b) const { return {spell_[b].data(), spell_len_[b]}; }

  // "Ġhello" -> " hello". False (and *out unchanged) when some character is not in the alphabet,
  // e.g. an added token like "<|im_start|>" that is stored verbatim (which the decoder then
  // copies through as its raw UTF-8, like HF's ByteLevel decoder).
  bool to_bytes(std::string_view spelled, std::string* out) const;
  // " hello" -> "Ġhello".
  void to_spelling(std::string_view bytes, std::string* out) const;

 private:
  ByteLevelAlphabet();
  std::array<char32_t, 256> byte_to_cp_{};
  std::array<int16_t, 324> cp_to_byte_{};  // code points < 324 only; -1 = not in the alphabet
  std::array<std::array<char, 2>, 256> spell_{};
  std::array<uint8_t, 256> spell_len_{};
};

}  // namespace tandem::text
