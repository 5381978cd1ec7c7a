// Byte-for-byte comparison with Hugging Face transformers + jinja2.
//  - cases.json: real model chat templates over conversations (ChatTemplate end to end).
//  - snippets.json: one interpreter construct per template (Template directly).
// Both files come from scripts/oracles/chat_template/make_cases.py.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "gateway/text/template/chat_template.h"
#include "tests/unit/chat_template/test_util.h"

namespace tandem::text {
namespace {

using jinja::testing::data_file;
using jinja::testing::fixed_now;

std::string str(const boost::json::object& o, const char* key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

boost::json::array load(const char* file, const char* key) {
  boost::json::value doc = boost::json::parse(data_file(file));
  return doc.as_object().at(key).as_array();
}

TEST(ChatTemplateOracle, RealTemplatesMatchTransformersByteForByte) {
  boost::json::array cases = load("cases.json", "cases");
  ASSERT_GE(cases.size(), 100u) << "cases.json looks truncated";
  int compared = 0, errors = 0;
  for (const auto& item : cases) {
    const auto& c = item.as_object();
    std::string label = str(c, "template") + " / " + str(c, "name");
    auto tmpl = ChatTemplate::compile(data_file(str(c, "template")));
    ASSERT_TRUE(tmpl.ok()) << label << ": " << tmpl.status().to_string();
    ChatTemplateInputs in;
    in.messages_json = str(c, "messages_json");
    in.tools_json = str(c, "tools_json");
    in.add_generation_prompt = c.at("add_generation_prompt").as_bool();
    in.continue_final_message = c.at("continue_final_message").as_bool();
    in.bos_token = str(c, "bos_token");
    in.eos_token = str(c, "eos_token");
    in.extra_context_json = str(c, "extra_context_json");
    auto out = tmpl->render(in, fixed_now());
    if (c.contains("error")) {
      ++errors;
      EXPECT_FALSE(out.ok()) << label << ": transformers failed (" << str(c, "error") << ") but we rendered:\n" << *out;
      std::string expected_error = str(c, "error");
      // raise_exception() messages must reach the caller verbatim.
      if (!out.ok() && expected_error.find(':') == std::string::npos) {
        EXPECT_NE(out.status().message().find(expected_error), std::string::npos)
            << label << ": " << out.status().message();
      }
      continue;
    }
    ++compared;
    ASSERT_TRUE(out.ok()) << label << ": " << out.status().to_string();
    EXPECT_EQ(*out, str(c, "expected")) << label;
  }
  EXPECT_GE(compared, 100);
  EXPECT_GE(errors, 1);
}

TEST(ChatTemplateOracle, InterpreterSnippetsMatchJinja) {
  boost::json::array snippets = load("snippets.json", "snippets");
  ASSERT_GE(snippets.size(), 50u);
  for (const auto& item : snippets) {
    const auto& s = item.as_object();
    std::string name = str(s, "name");
    auto out = jinja::testing::render(str(s, "template"), str(s, "context_json"));
    if (s.contains("error")) {
      EXPECT_FALSE(out.ok()) << name << ": jinja2 failed (" << str(s, "error") << ") but we rendered: " << *out;
      continue;
    }
    ASSERT_TRUE(out.ok()) << name << ": " << out.status().to_string();
    EXPECT_EQ(*out, str(s, "expected")) << name << "\ntemplate: " << str(s, "template");
  }
}

}  // namespace
}  // namespace tandem::text
