// Stage 1 of the template interpreter: source text -> tokens.
//
// Applies Jinja2's whitespace rules as Hugging Face configures them, so later stages never think
// about whitespace:
//  - newlines normalised to "\n" and one trailing newline dropped (keep_trailing_newline=False);
//  - `{%-` / `{{-` / `{#-` strip all whitespace before the tag, `-%}` / `-}}` / `-#}` after it;
//  - trim_blocks: the first newline after a block or comment tag is removed (`+%}` keeps it);
//  - lstrip_blocks: spaces and tabs from the start of a line up to a block or comment tag are
//    removed (`{%+` keeps them);
//  - comments vanish; `{% raw %}...{% endraw %}` becomes one text token.
// Inside tags it produces names, literals and operators; a `}}` or `%}` inside open brackets is
// not the end of the tag (so `{{ {'a': {'b': 1}} }}` works).
// Thread-safe: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/text/template/source_pos.h"

namespace tandem::text::jinja {

enum class TokenType {
  kText,           // literal template text
  kVariableBegin,  // {{
  kVariableEnd,    // }}
  kBlockBegin,     // {%
  kBlockEnd,       // %}
  kName,
  kString,  // text holds the decoded value
  kInteger,
  kFloat,
  kOperator,  // text holds the spelling: "+", "//", "==", "(", ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  SourcePos pos;
};

// Jinja's source preparation: "\r\n" and "\r" become "\n"; one trailing newline is dropped.
std::string normalize_source(std::string_view source);

// `source` must already be normalised. Errors are syntax errors with line and column.
StatusOr<std::vector<Token>> tokenize(std::string_view source);

}  // namespace tandem::text::jinja
