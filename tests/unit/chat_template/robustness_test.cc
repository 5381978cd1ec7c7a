// Randomised robustness: mangled real templates and random fragment soups must compile or fail
// with a positioned error, and render or fail with a Status, never crash, hang or overflow the
// stack. Seeds are fixed so failures reproduce.
#include <random>

#include <gtest/gtest.h>

#include "tests/unit/chat_template/test_util.h"

namespace tandem::text::jinja {
namespace {

constexpr const char* kContext = R"({
  "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi <tool_response>"},
               {"role": "assistant", "content": "<think>x</think>y", "tool_calls": [{"function": {"name": "f",
                "arguments": {"a": 1}}}]}, {"role": "tool", "content": "r"}],
  "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
  "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})";

RenderLimits small_limits() {
  RenderLimits l;
  l.max_work = 200'000;
  l.max_output_bytes = 1 << 20;
  l.max_range = 1000;
  return l;
}

// Compiles and renders; returns false only on a malformed failure (error without message).
bool exercise(const std::string& source, int* compiled, int* rendered) {
  auto t = Template::compile(source);
  if (!t.ok()) return !t.status().message().empty();
  ++*compiled;
  auto ctx = parse_json_value(kContext, "context");
  RenderOptions options;
  options.limits = small_limits();
  options.now = testing::fixed_now();
  auto out = t->render(ctx->as_dict(), options);
  if (out.ok()) ++*rendered;
  return out.ok() || !out.status().message().empty();
}

TEST(Robustness, MangledRealTemplates) {
  std::mt19937 rng(1234);
  int compiled = 0, rendered = 0;
  for (const char* name : {"qwen3-0.6b.jinja", "llama-3.1-8b-instruct.jinja", "gpt-oss-120b.jinja",
                           "mistral-nemo-instruct-2407.jinja"}) {
    const std::string original = testing::data_file(name);
    for (int i = 0; i < 150; ++i) {
      std::string s = original;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t a = rng() % s.size();
        size_t len = 1 + rng() % 40;
        switch (rng() % 3) {
          case 0: s.erase(a, len); break;                                  // delete a chunk
          case 1: s.insert(a, original.substr(rng() % original.size(), len)); break;  // splice
          default: s[a] = "{}%#-+()[]'\"|.~"[rng() % 15]; break;           // flip a character
        }
      }
      EXPECT_TRUE(exercise(s, &compiled, &rendered)) << name << " mutation " << i;
    }
  }
  // The harness must actually reach the evaluator, not just the parser.
  EXPECT_GT(compiled, 50);
  EXPECT_GT(rendered, 20);
}

TEST(Robustness, RandomFragmentSoup) {
  static const char* kFragments[] = {
      "{{ ", " }}", "{% ", " %}", "{%- ", " -%}", "if ", "for ", "x ", "in ", "messages ", "endif", "endfor",
      "else", "set ", "ns.a ", "= ", "namespace(a=1) ", "macro m(a, b=2)", "endmacro", "m(1) ", "+ ", "~ ",
      "* ", "** ", "// ", "[", "]", "(", ")", "{", "}", ":", ", ", "'s' ", "\"t\" ", "1 ", "-1 ", "2.5 ", "|length ",
      "|tojson ", "|join(',') ", "|map(attribute='role') ", "is defined ", "is not none ", "not ", "and ", "or ",
      ".content ", "['role'] ", "[::-1] ", "loop.index ", "range(5) ", "raise_exception('e') ", "text\n", "  ",
      "{# c #}", "break", "continue", "tools ", ".items() ", ".split('a') ", "if x else ", "none ", "true "};
  std::mt19937 rng(42);
  int compiled = 0, rendered = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    int n = 1 + static_cast<int>(rng() % 25);
    for (int k = 0; k < n; ++k) s += kFragments[rng() % std::size(kFragments)];
    ASSERT_TRUE(exercise(s, &compiled, &rendered)) << s;
  }
  EXPECT_GT(compiled, 100);
  EXPECT_GT(rendered, 50);
}

}  // namespace
}  // namespace tandem::text::jinja
