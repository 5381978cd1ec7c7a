#include "gateway/text/template/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "gateway/text/template/py_string.h"

namespace tandem::text::jinja {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
bool is_tag_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python whitespace at byte `pos` (ASCII fast path; multi-byte code points decoded).
size_t space_len_at(std::string_view s, size_t pos) {
  unsigned char c = static_cast<unsigned char>(s[pos]);
  if (c < 0x80) return is_py_space(c) ? 1 : 0;
  size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
  if (pos + len > s.size()) return 0;
  std::u32string cp = utf8_decode(s.substr(pos, len));
  return cp.size() == 1 && is_py_space(cp[0]) ? len : 0;
}

size_t skip_py_space(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t n = space_len_at(s, pos);
    if (n == 0) break;
    pos += n;
  }
  return pos;
}

// Length of `s` without trailing Python whitespace (str.rstrip()).
size_t rstrip_len(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (space_len_at(s, start) != end - start) break;
    end = start;
  }
  return end;
}

bool only_py_space(std::string_view s) { return skip_py_space(s, 0) == s.size(); }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src), lines_(src) {}

  StatusOr<std::vector<Token>> run() {
    while (pos_ < src_.size()) {
      size_t tag = find_tag(pos_);
      if (tag == std::string_view::npos) {
        emit_text(pos_, src_.substr(pos_));
        break;
      }
      char kind = src_[tag + 1];
      char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+')
                      ? src_[tag + 2]
                      : 0;
      size_t raw_end = kind == '%' ? match_raw_begin(tag) : 0;
      emit_text(pos_, strip_before_tag(src_.substr(pos_, tag - pos_), sign, kind != '{', pos_));
      size_t body = tag + 2 + (sign ? 1 : 0);
      if (kind == '#') {
        RETURN_IF_ERROR(lex_comment(tag, body));
      } else if (raw_end) {
        RETURN_IF_ERROR(lex_raw(tag, raw_end));
      } else {
        RETURN_IF_ERROR(lex_tag(tag, body, kind == '%'));
      }
    }
    Token eof;
    eof.type = TokenType::kEof;
    eof.pos = lines_.at(src_.size());
    tokens_.push_back(std::move(eof));
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string_view::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) {
        return i;
      }
    }
    return std::string_view::npos;
  }

  // Whitespace control for the text in front of a tag: `-` strips all trailing whitespace;
  // lstrip_blocks strips the spaces between the last line start and a block/comment tag.
  std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_applies,
                                    size_t text_start) const {
    if (sign == '-') return text.substr(0, rstrip_len(text));
    if (sign == '+' || !lstrip_applies) return text;
    size_t nl = text.rfind('\n');
    size_t line_pos = nl == std::string_view::npos ? 0 : nl + 1;
    bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
    if ((line_pos > 0 || line_starting) && line_pos < text.size() &&
        only_py_space(text.substr(line_pos))) {
      return text.substr(0, line_pos);
    }
    return text;
  }

  void emit_text(size_t offset, std::string_view text) {
    if (text.empty()) return;
    Token t;
    t.type = TokenType::kText;
    t.text = std::string(text);
    t.pos = lines_.at(offset);
    tokens_.push_back(std::move(t));
  }

  // After a closing `%}` / `#}`: `-` eats all whitespace, `+` nothing, otherwise one newline.
  size_t after_block_end(size_t pos, char sign) const {
    if (sign == '-') return skip_py_space(src_, pos);
    if (sign == '+') return pos;
    return pos < src_.size() && src_[pos] == '\n' ? pos + 1 : pos;
  }

  Status lex_comment(size_t tag, size_t body) {
    size_t close = src_.find("#}", body);
    if (close == std::string_view::npos) {
      return syntax_error(lines_.at(tag), "comment is never closed (missing '#}')");
    }
    char sign = close > body && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    pos_ = after_block_end(close + 2, sign);
    return Status::Ok();
  }

  // `{% raw %}` (with optional -/+ and spaces): returns the offset after its `%}`, or 0.
  size_t match_raw_begin(size_t tag) const {
    size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    while (p < src_.size() && is_tag_space(src_[p])) ++p;
    if (src_.substr(p, 3) != "raw") return 0;
    p += 3;
    if (p < src_.size() && is_name_char(src_[p])) return 0;
    while (p < src_.size() && is_tag_space(src_[p])) ++p;
    if (src_.substr(p, 3) == "-%}") return skip_py_space(src_, p + 3);
    if (src_.substr(p, 2) == "%}") return p + 2;  // no trim_blocks after raw begin (as Jinja)
    return 0;
  }

  Status lex_raw(size_t tag, size_t content) {
    for (size_t i = src_.find("{%", content); i != std::string_view::npos;
         i = src_.find("{%", i + 1)) {
      size_t p = i + 2;
      char sign = p < src_.size() && (src_[p] == '-' || src_[p] == '+') ? src_[p] : 0;
      if (sign) ++p;
      while (p < src_.size() && is_tag_space(src_[p])) ++p;
      if (src_.substr(p, 6) != "endraw") continue;
      p += 6;
      while (p < src_.size() && is_tag_space(src_[p])) ++p;
      char end_sign = 0;
      if (src_.substr(p, 3) == "-%}" || src_.substr(p, 3) == "+%}") end_sign = src_[p++];
      if (src_.substr(p, 2) != "%}") continue;
      emit_text(content, strip_before_tag(src_.substr(content, i - content), sign, true, content));
      pos_ = after_block_end(p + 2, end_sign);
      return Status::Ok();
    }
    return syntax_error(lines_.at(tag), "'raw' block is never closed (missing '{% endraw %}')");
  }

  void emit(TokenType type, size_t offset, std::string text) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = lines_.at(offset);
    tokens_.push_back(std::move(t));
  }

  Status lex_tag(size_t tag, size_t p, bool block) {
    emit(block ? TokenType::kBlockBegin : TokenType::kVariableBegin, tag, block ? "{%" : "{{");
    std::string brackets;  // expected closers, innermost last
    while (true) {
      if (p >= src_.size()) {
        return syntax_error(lines_.at(tag), fmt::format("tag is never closed (missing '{}')",
                                                        block ? "%}" : "}}"));
      }
      if (brackets.empty()) {
        std::string_view rest = src_.substr(p);
        if (block && (rest.substr(0, 3) == "-%}" || rest.substr(0, 3) == "+%}")) {
          emit(TokenType::kBlockEnd, p, "%}");
          pos_ = after_block_end(p + 3, rest[0]);
          return Status::Ok();
        }
        if (block && rest.substr(0, 2) == "%}") {
          emit(TokenType::kBlockEnd, p, "%}");
          pos_ = after_block_end(p + 2, 0);
          return Status::Ok();
        }
        if (!block && rest.substr(0, 3) == "-}}") {
          emit(TokenType::kVariableEnd, p, "}}");
          pos_ = skip_py_space(src_, p + 3);
          return Status::Ok();
        }
        if (!block && rest.substr(0, 2) == "}}") {
          emit(TokenType::kVariableEnd, p, "}}");
          pos_ = p + 2;
          return Status::Ok();
        }
      }
      char c = src_[p];
      if (is_tag_space(c)) {
        ++p;
      } else if (is_digit(c)) {
        ASSIGN_OR_RETURN(p, lex_number(p));
      } else if (is_name_start(c)) {
        size_t end = p;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        emit(TokenType::kName, p, std::string(src_.substr(p, end - p)));
        p = end;
      } else if (c == '\'' || c == '"') {
        ASSIGN_OR_RETURN(p, lex_string(p));
      } else {
        ASSIGN_OR_RETURN(p, lex_operator(p, &brackets));
      }
    }
  }

  // Digits with optional single underscores between them; returns the end offset (== p if none).
  size_t scan_digits(size_t p) const {
    size_t end = p;
    while (end < src_.size() && is_digit(src_[end])) {
      ++end;
      if (end + 1 < src_.size() && src_[end] == '_' && is_digit(src_[end + 1])) ++end;
    }
    return end;
  }

  StatusOr<size_t> lex_number(size_t p) {
    size_t int_end = scan_digits(p);
    size_t end = int_end;
    bool is_float = false;
    bool after_dot = p > 0 && src_[p - 1] == '.';  // `x.0.1` is x[0][1], never a float
    if (!after_dot && end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      end = scan_digits(end + 1);
      is_float = true;
    }
    if (!after_dot && end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t q = end + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      size_t exp_end = scan_digits(q);
      if (exp_end > q) {
        end = exp_end;
        is_float = true;
      }
    }
    std::string digits;
    for (size_t i = p; i < end; ++i) {
      if (src_[i] != '_') digits.push_back(src_[i]);
    }
    Token t;
    t.pos = lines_.at(p);
    if (is_float) {
      t.type = TokenType::kFloat;
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      int base = 10;
      if (digits == "0" && end < src_.size()) {
        char prefix = static_cast<char>(src_[end] | 0x20);
        base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 10;
        if (base != 10) {
          size_t q = end + 1;
          digits.clear();
          while (q < src_.size() && (std::isxdigit(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) {
            if (src_[q] != '_') digits.push_back(src_[q]);
            ++q;
          }
          end = q;
        }
      } else if (digits.size() > 1 && digits[0] == '0') {
        return syntax_error(t.pos, "integer literals may not start with 0 ('" + digits + "')");
      }
      errno = 0;
      char* parse_end = nullptr;
      long long v = std::strtoll(digits.c_str(), &parse_end, base);
      if (digits.empty() || *parse_end != '\0' || errno == ERANGE) {
        return syntax_error(t.pos, "invalid or out-of-range integer literal '" +
                                       std::string(src_.substr(p, end - p)) + "'");
      }
      t.type = TokenType::kInteger;
      t.int_value = v;
    }
    t.text = std::string(src_.substr(p, end - p));
    tokens_.push_back(std::move(t));
    return end;
  }

  // Python's "unicode-escape" decoding of a string literal body.
  StatusOr<size_t> lex_string(size_t p) {
    char quote = src_[p];
    std::string value;
    size_t i = p + 1;
    while (true) {
      if (i >= src_.size()) return syntax_error(lines_.at(p), "string literal is never closed");
      char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) return syntax_error(lines_.at(p), "string literal is never closed");
      char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': value.push_back('\\'); break;
        case '\'': value.push_back('\''); break;
        case '"': value.push_back('"'); break;
        case 'a': value.push_back('\a'); break;
        case 'b': value.push_back('\b'); break;
        case 'f': value.push_back('\f'); break;
        case 'n': value.push_back('\n'); break;
        case 'r': value.push_back('\r'); break;
        case 't': value.push_back('\t'); break;
        case 'v': value.push_back('\v'); break;
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          std::string hex(src_.substr(i, n));
          bool ok = hex.size() == n;
          for (char h : hex) ok = ok && std::isxdigit(static_cast<unsigned char>(h));
          uint32_t cp = ok ? static_cast<uint32_t>(std::strtoul(hex.c_str(), nullptr, 16)) : 0;
          if (!ok || cp > 0x10FFFF) {
            return syntax_error(lines_.at(i - 2), fmt::format("invalid \\{} escape in string literal", e));
          }
          utf8_append(value, cp);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            }
            utf8_append(value, cp);
          } else {
            value.push_back('\\');  // unknown escapes stay as written, as in Python
            value.push_back(e);
          }
      }
    }
    Token t;
    t.type = TokenType::kString;
    t.text = std::move(value);
    t.pos = lines_.at(p);
    tokens_.push_back(std::move(t));
    return i + 1;
  }

  StatusOr<size_t> lex_operator(size_t p, std::string* brackets) {
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", ">=", "<="};
    std::string_view rest = src_.substr(p);
    for (std::string_view op : kTwo) {
      if (rest.substr(0, 2) == op) {
        emit(TokenType::kOperator, p, std::string(op));
        return p + 2;
      }
    }
    char c = src_[p];
    static constexpr std::string_view kOne = "+-/*%~[](){}><=.:|,;";
    if (kOne.find(c) == std::string_view::npos) {
      std::string shown = static_cast<unsigned char>(c) < 0x80 ? std::string(1, c) : "non-ASCII character";
      return syntax_error(lines_.at(p), fmt::format("unexpected character '{}' inside a tag", shown));
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets->push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets->empty()) return syntax_error(lines_.at(p), fmt::format("unexpected '{}'", c));
      if (brackets->back() != c) {
        return syntax_error(lines_.at(p),
                            fmt::format("unexpected '{}', expected '{}'", c, brackets->back()));
      }
      brackets->pop_back();
    }
    emit(TokenType::kOperator, p, std::string(1, c));
    return p + 1;
  }

  std::string_view src_;
  LineIndex lines_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

StatusOr<std::vector<Token>> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace tandem::text::jinja
