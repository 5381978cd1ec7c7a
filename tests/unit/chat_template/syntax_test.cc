// Lexer and parser: token streams, whitespace control, and syntax errors with positions.
#include <gtest/gtest.h>

#include "gateway/text/template/lexer.h"
#include "gateway/text/template/parser.h"
#include "gateway/text/template/template.h"
#include "tests/unit/chat_template/test_util.h"

namespace tandem::text::jinja {
namespace {

std::vector<Token> lex(const std::string& src) {
  auto r = tokenize(normalize_source(src));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::vector<Token>{};
}

std::string compile_error(const std::string& src) {
  auto r = Template::compile(src);
  EXPECT_FALSE(r.ok()) << "compiled: " << src;
  return r.ok() ? "" : r.status().message();
}

TEST(Lexer, TokenizesTagContents) {
  auto t = lex("a{{ x.y[0] | f(1.5, k='s') }}b");
  ASSERT_EQ(t.size(), 20u);
  EXPECT_EQ(t[0].type, TokenType::kText);
  EXPECT_EQ(t[0].text, "a");
  EXPECT_EQ(t[1].type, TokenType::kVariableBegin);
  EXPECT_EQ(t[2].text, "x");
  EXPECT_EQ(t[3].text, ".");
  EXPECT_EQ(t[6].type, TokenType::kInteger);
  EXPECT_EQ(t[6].int_value, 0);
  EXPECT_EQ(t[11].type, TokenType::kFloat);
  EXPECT_DOUBLE_EQ(t[11].float_value, 1.5);
  EXPECT_EQ(t[13].text, "k");
  EXPECT_EQ(t[14].text, "=");
  EXPECT_EQ(t[15].type, TokenType::kString);
  EXPECT_EQ(t[15].text, "s");
  EXPECT_EQ(t[16].type, TokenType::kOperator);
  EXPECT_EQ(t[17].type, TokenType::kVariableEnd);
  // The trailing "b" and EOF.
  auto all = lex("a{{ x }}b");
  EXPECT_EQ(all.back().type, TokenType::kEof);
  EXPECT_EQ(all[all.size() - 2].text, "b");
}

TEST(Lexer, PositionsAreLineAndColumn) {
  auto t = lex("ab\n  {{ name }}\n{% if x %}");
  ASSERT_GE(t.size(), 6u);
  EXPECT_EQ(t[1].type, TokenType::kVariableBegin);
  EXPECT_EQ(t[1].pos.line, 2);
  EXPECT_EQ(t[1].pos.column, 3);
  EXPECT_EQ(t[2].pos.column, 6);  // "name"
  const Token& if_name = t[6];
  EXPECT_EQ(if_name.text, "if");
  EXPECT_EQ(if_name.pos.line, 3);
  EXPECT_EQ(if_name.pos.column, 4);
}

TEST(Lexer, ClosingBracesInsideBracketsDoNotEndTheTag) {
  auto t = lex("{{ {'a': {'b': 1}} }}");
  int closes = 0;
  for (const Token& tok : t) closes += tok.type == TokenType::kVariableEnd;
  EXPECT_EQ(closes, 1);
}

TEST(Lexer, WhitespaceControl) {
  using testing::render_ok;
  EXPECT_EQ(render_ok("a  {%- if true %}b{% endif -%}  \n c"), "abc");
  EXPECT_EQ(render_ok("{% if true %}\nx\n{% endif %}\ny"), "x\ny");        // trim_blocks
  EXPECT_EQ(render_ok("  {% if true %}x{% endif %}"), "x");                 // lstrip_blocks
  EXPECT_EQ(render_ok("  {{ 'x' }}"), "  x");                               // not for variables
  EXPECT_EQ(render_ok("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(render_ok("{% if true +%}\nx{% endif %}"), "\nx");
  EXPECT_EQ(render_ok("a{# c #}\nb"), "ab");                               // comments trim too
  EXPECT_EQ(render_ok("line\r\nnext\r\n"), "line\nnext");                  // newlines, trailing one dropped
  EXPECT_EQ(render_ok("{% raw %}{{ x }}{% endraw %}"), "{{ x }}");
}

TEST(Lexer, Errors) {
  EXPECT_EQ(compile_error("ok\n  {{ 'abc }}"),
            "template syntax error at line 2, column 6: string literal is never closed");
  EXPECT_EQ(compile_error("{{ x"), "template syntax error at line 1, column 1: tag is never closed (missing '}}')");
  EXPECT_EQ(compile_error("a\n{# open"), "template syntax error at line 2, column 1: comment is never closed (missing '#}')");
  EXPECT_EQ(compile_error("{{ a ) }}"), "template syntax error at line 1, column 6: unexpected ')'");
  EXPECT_EQ(compile_error("{{ (a] }}"), "template syntax error at line 1, column 6: unexpected ']', expected ')'");
  EXPECT_EQ(compile_error("{{ a ! b }}"), "template syntax error at line 1, column 6: unexpected character '!' inside a tag");
  EXPECT_NE(compile_error("{{ 012 }}").find("may not start with 0"), std::string::npos);
  EXPECT_NE(compile_error("{% raw %}never closed").find("'raw' block is never closed"), std::string::npos);
}

TEST(Parser, SyntaxErrorsNamePositionAndFix) {
  EXPECT_EQ(compile_error("x\n{% for m in messages %}\nbody"),
            "template syntax error at line 3, column 5: unexpected end of template: '{% for %}' opened at line 2, "
            "column 4 needs '{% endfor %}' or '{% else %}'");
  EXPECT_EQ(compile_error("{% if a %}{% endfor %}"),
            "template syntax error at line 1, column 14: unexpected '{% endfor %}': the innermost open block is "
            "'{% if %}' (line 1, column 4), which needs '{% elif %}', '{% else %}' or '{% endif %}'");
  EXPECT_EQ(compile_error("{% frobnicate %}"), "template syntax error at line 1, column 4: unknown tag 'frobnicate'");
  EXPECT_EQ(compile_error("{% include 'x' %}"),
            "template syntax error at line 1, column 4: tag 'include' is not supported in chat templates");
  EXPECT_EQ(compile_error("{{ x | nofilter }}"), "template syntax error at line 1, column 8: no filter named 'nofilter'");
  EXPECT_EQ(compile_error("{{ x is nothing }}"), "template syntax error at line 1, column 6: no test named 'nothing'");
  EXPECT_EQ(compile_error("{% break %}"), "template syntax error at line 1, column 4: '{% break %}' outside of a for loop");
  EXPECT_EQ(compile_error("{{ 1 + }}"), "template syntax error at line 1, column 8: unexpected '}}'");
  EXPECT_EQ(compile_error("{% set 1 = 2 %}"), "template syntax error at line 1, column 8: can't assign to '1'");
  EXPECT_EQ(compile_error("{% macro m(a=1, b) %}{% endmacro %}"),
            "template syntax error at line 1, column 18: macro 'm': parameter 'b' without a default follows one "
            "with a default");
  EXPECT_NE(compile_error("{{ f(a=1, 2) }}").find("positional argument follows keyword argument"), std::string::npos);
  // A loop in a macro body is not a loop around a `break` in the macro's caller.
  EXPECT_NE(compile_error("{% for x in y %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}").find("outside"),
            std::string::npos);
}

TEST(Parser, NestingIsCappedInsteadOfOverflowingTheStack) {
  std::string deep_parens = "{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}";
  EXPECT_NE(compile_error(deep_parens).find("nests deeper than"), std::string::npos);
  std::string deep_ifs;
  for (int i = 0; i < 5000; ++i) deep_ifs += "{% if true %}";
  EXPECT_NE(compile_error(deep_ifs).find("nests deeper than"), std::string::npos);
  std::string deep_nots = "{{ " + [] { std::string s; for (int i = 0; i < 50000; ++i) s += "not "; return s; }() + "x }}";
  EXPECT_NE(compile_error(deep_nots).find("nests deeper than"), std::string::npos);
  // Moderate nesting is fine.
  EXPECT_EQ(testing::render_ok("{{ " + std::string(30, '(') + "7" + std::string(30, ')') + " }}"), "7");
}

TEST(Parser, PrecedenceMatchesJinja) {
  using testing::render_ok;
  EXPECT_EQ(render_ok("{{ -2 ** 2 }}"), "4");                   // unary binds tighter than ** in Jinja
  EXPECT_EQ(render_ok("{{ [1, 2, 3]|length - 1 }}"), "2");       // filters bind tighter than arithmetic
  EXPECT_EQ(render_ok("{{ not x is defined }}"), "True");       // tests bind tighter than not
  EXPECT_EQ(render_ok("{{ 2 * 3 ~ 4 }}"), "64");                // * binds tighter than ~ ...
  EXPECT_FALSE(testing::render("{{ 'a' ~ 1 + 2 }}").ok());        // ... and ~ tighter than + (as in Jinja)
  EXPECT_EQ(render_ok("{{ 1 if false else 2 if true else 3 }}"), "2");
  EXPECT_EQ(render_ok("{{ x is divisibleby 3 }}", R"({"x": 9})"), "True");
  EXPECT_EQ(render_ok("{{ 1 < 2 == 2 }}"), "True");              // chained comparison
}

TEST(Parser, RealTemplatesCompile) {
  for (const char* name : {"smollm2.jinja", "llama-3.1-8b-instruct.jinja", "qwen3-0.6b.jinja", "gpt-oss-120b.jinja",
                           "command-r7b-12-2024-tool-use.jinja", "mistral-small-3.2-24b-instruct-2506.jinja"}) {
    auto r = Template::compile(testing::data_file(name));
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().to_string();
  }
}

}  // namespace
}  // namespace tandem::text::jinja
