// Evaluator: semantics not covered by the jinja2 snippets, run-time errors with positions, and
// hostile templates that must fail cleanly (no hang, no stack overflow, bounded memory).
#include <chrono>

#include <gtest/gtest.h>

#include "tests/unit/chat_template/test_util.h"

namespace tandem::text::jinja {
namespace {

using testing::render;
using testing::render_error;
using testing::render_ok;

TEST(Render, ScopingFollowsJinja) {
  // Assignments in a loop body vanish each iteration; namespaces carry state out.
  EXPECT_EQ(render_ok("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}"), "231");
  EXPECT_EQ(render_ok("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"),
            "4");
  // Macros see top-level variables (even ones set after the definition), not the caller's locals.
  EXPECT_EQ(render_ok("{% macro m() %}{{ g }}{{ i }}{% endmacro %}{% set g = 'G' %}{% for i in [7] %}{{ m() }}{% endfor %}"),
            "G");
  // Loop variables do not leak.
  EXPECT_EQ(render_ok("{% for i in [1] %}{% endfor %}[{{ i }}]"), "[]");
  // Context variables can be shadowed by top-level set.
  EXPECT_EQ(render_ok("{% set messages = messages[1:] %}{{ messages|length }}", R"({"messages": [1, 2, 3]})"), "2");
}

TEST(Render, LoopControlAndObject) {
  EXPECT_EQ(render_ok("{% for i in range(10) %}{% if i is odd %}{% continue %}{% endif %}{% if i > 6 %}{% break %}"
                      "{% endif %}{{ i }}{% endfor %}"),
            "0246");
  EXPECT_EQ(render_ok("{% for a in [1, 2] %}{% for b in 'xy' %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index }};"
                      "{% endfor %}"),
            "1x2y1;1x2y2;");
}

TEST(Render, MacroArgumentErrors) {
  Status st = render_error("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}");
  EXPECT_NE(st.message().find("macro 'm' takes not more than 1 argument(s), got 2"), std::string::npos) << st.message();
  st = render_error("{% macro m(a) %}{% endmacro %}{{ m(b=1) }}");
  EXPECT_NE(st.message().find("takes no keyword argument 'b'"), std::string::npos) << st.message();
  // A parameter that is not passed and has no default is undefined, not an error.
  EXPECT_EQ(render_ok("{% macro m(a, b) %}[{{ b }}]{{ b is defined }}{% endmacro %}{{ m(1) }}"), "[]False");
}

TEST(Render, ErrorsCarryTheInnermostPosition) {
  Status st = render_error("line one\n  {{ 1 + 'a' }}");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "template error at line 2, column 6: unsupported operand type(s) for +: 'int' and 'str'");
  st = render_error("{% for m in messages %}\n{{ m.content.nope.deeper }}{% endfor %}", R"({"messages": [{"content": "x"}]})");
  EXPECT_EQ(st.message(), "template error at line 2, column 18: 'str object' has no attribute 'nope'");
  st = render_error("{% macro f(x) %}\n\n   {{ x.a.b }}{% endmacro %}{{ f({}) }}");
  EXPECT_EQ(st.message(), "template error at line 3, column 10: 'dict object' has no attribute 'a'");
  st = render_error("{{ missing.attr }}");
  EXPECT_EQ(st.message(), "template error at line 1, column 11: 'missing' is undefined");
  st = render_error("{% for x in 5 %}{% endfor %}");
  EXPECT_EQ(st.message(), "template error at line 1, column 13: 'int' object is not iterable");
  st = render_error("{{ [1, 2]|tojson(indent=[]) }}");
  EXPECT_NE(st.message().find("indent must be an integer or a string"), std::string::npos) << st.message();
}

TEST(Render, RaiseExceptionCarriesTheTemplateMessage) {
  Status st = render_error("{% if messages[0].role == 'system' %}\n  {{ raise_exception('System role not supported') }}\n"
                           "{% endif %}",
                           R"({"messages": [{"role": "system"}]})");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "System role not supported (raised by the chat template at line 2, column 6)");
}

TEST(Render, UnsafeAttributesAreRefused) {
  EXPECT_NE(render_error("{{ l.append(1) }}", R"({"l": []})").message().find("unsafe"), std::string::npos);
  EXPECT_NE(render_error("{{ d.update({}) }}", R"({"d": {}})").message().find("unsafe"), std::string::npos);
  EXPECT_NE(render_error("{{ d.__class__() }}", R"({"d": {}})").message().find("unsafe"), std::string::npos);
  // Printing an unsafe attribute (without calling it) prints nothing, as in Jinja's sandbox.
  EXPECT_EQ(render_ok("[{{ l.append }}]", R"({"l": []})"), "[]");
  EXPECT_NE(render_error("{% set ns = namespace() %}{% set ns._x = 1 %}").message().find("underscore"), std::string::npos);
}

TEST(Render, StrftimeNowUsesTheGivenTime) {
  EXPECT_EQ(render_ok("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%A %H:%M:%S.%f%z') }}"),
            "26 Jul 2024|Friday 12:00:00.000000");
}

TEST(Hostile, InfiniteRecursionIsStopped) {
  auto start = std::chrono::steady_clock::now();
  Status st = render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("deeper than"), std::string::npos) << st.message();
  // Mutual recursion through filters and namespaces as well.
  st = render_error("{% macro a(x) %}{{ [x]|map('string')|join ~ b(x) }}{% endmacro %}"
                    "{% macro b(x) %}{{ a(x) }}{% endmacro %}{{ a(1) }}");
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Hostile, HugeLoopsAreCapped) {
  RenderLimits limits;
  limits.max_work = 200'000;
  Status st = render_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "{}", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("units of work"), std::string::npos) << st.message();
  // Default limits stop the same loop too (in bounded time).
  st = render_error("{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}");
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  st = render_error("{{ range(100001)|length }}");
  EXPECT_NE(st.message().find("Range too big"), std::string::npos) << st.message();
}

TEST(Hostile, MemoryIsCapped) {
  RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  Status st = render_error("{{ 'x' * 100000000 }}", "{}", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  st = render_error("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                    "{}", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  st = render_error("{% for i in range(100000) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", "{}", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("output exceeds the limit of 1048576 bytes"), std::string::npos) << st.message();
  st = render_error("{{ [1, 2, 3] * 1000000000 }}", "{}", limits);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  // Growing a list by concatenation in a loop is charged per element copied.
  RenderLimits work;
  work.max_work = 1'000'000;
  st = render_error("{% set ns = namespace(l=[]) %}{% for i in range(50000) %}{% set ns.l = ns.l + [i] %}{% endfor %}",
                    "{}", work);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
}

TEST(Hostile, SelfReferencingNamespacePrintsFinitely) {
  auto out = render("{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns }}");
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_NE(out->find("..."), std::string::npos);
  EXPECT_LT(out->size(), 100000u);
}

}  // namespace
}  // namespace tandem::text::jinja
