#include "gateway/text/tokenizer/byte_level.h"

#include "gateway/text/tokenizer/utf8.h"

namespace tandem::text {

const ByteLevelAlphabet& ByteLevelAlphabet::get() {
  static const ByteLevelAlphabet instance;
  return instance;
}

ByteLevelAlphabet::ByteLevelAlphabet() {
  cp_to_byte_.fill(-1);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
    byte_to_cp_[b] = cp;
    cp_to_byte_[cp] = static_cast<int16_t>(b);
    std::string s;
    append_utf8(cp, &s);
    spell_len_[b] = static_cast<uint8_t>(s.size());
    for (size_t k = 0; k < s.size(); ++k) spell_[b][k] = s[k];
  }
}

bool ByteLevelAlphabet::to_bytes(std::string_view spelled, std::string* out) const {
  const size_t start = out->size();
  size_t i = 0;
  while (i < spelled.size()) {
    const size_t len = utf8_sequence_length(spelled, i);
    char32_t cp = 0;
    if (len > 0) decode_utf8(spelled, i, &cp);
    if (len == 0 || cp >= cp_to_byte_.size() || cp_to_byte_[cp] < 0) {
      out->resize(start);
      return false;
    }
    out->push_back(static_cast<char>(cp_to_byte_[cp]));
    i += len;
  }
  return true;
}

void ByteLevelAlphabet::to_spelling(std::string_view bytes, std::string* out) const {
  for (char c : bytes) out->append(spelling(static_cast<uint8_t>(c)));
}

}  // namespace tandem::text
