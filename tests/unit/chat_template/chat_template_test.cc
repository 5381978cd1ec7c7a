// ChatTemplate: the Hugging Face apply_chat_template semantics around the renderer (inputs,
// message normalisation, continue_final_message) and thread safety.
#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "gateway/text/template/chat_template.h"
#include "tests/unit/chat_template/test_util.h"

namespace tandem::text {
namespace {

using jinja::testing::data_file;
using jinja::testing::fixed_now;

ChatTemplate compile(const std::string& src) {
  auto t = ChatTemplate::compile(src);
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

const char* kChatML =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

TEST(ChatTemplate, RendersSmolLM2Prompt) {
  ChatTemplate t = compile(data_file("smollm2.jinja"));
  ChatTemplateInputs in;
  in.messages_json = R"([{"role": "user", "content": "Hi"}])";
  auto out = t.render(in, fixed_now());
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  in.add_generation_prompt = false;
  EXPECT_EQ(t.render(in).value().find("<|im_start|>assistant"), std::string::npos);
}

TEST(ChatTemplate, TestDataMatchesTheBundledModel) {
  // tests/data/chat_templates/smollm2.jinja is the tokenizer.chat_template string of the default
  // model; GGUF stores metadata strings raw near the start of the file.
  std::string model = ::tandem::testing::default_model_path();
  std::ifstream f(model, std::ios::binary);
  ASSERT_TRUE(f.good()) << "default model missing at " << model << " (run scripts/fetch_model.sh)";
  std::string head(8 << 20, '\0');
  f.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(f.gcount()));
  EXPECT_NE(head.find(data_file("smollm2.jinja")), std::string::npos);
}

TEST(ChatTemplate, NormalisesMessagesLikeSglang) {
  ChatTemplate t = compile("{{ messages|tojson }}");
  ChatTemplateInputs in;
  in.messages_json = R"([
    {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}},
                                 {"type": "text", "text": "b"}], "name": null},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
    {"role": "assistant", "tool_calls": [{"function": {"name": "g", "arguments": "not json"}}]},
    {"role": "assistant", "content": "ok", "reasoning_content": "because"}])";
  auto out = t.render(in);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out,
            R"([{"role": "user", "content": "a b"}, )"
            R"({"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]}, )"
            R"({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "g", "arguments": "not json"}}]}, )"
            R"({"thinking": "because", "role": "assistant", "content": "ok", "reasoning_content": "because"}])");
}

TEST(ChatTemplate, ContextHasToolsTokensAndExtras) {
  ChatTemplate t = compile("{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ documents is none }}|"
                           "{{ enable_thinking }}|{{ tools|length if tools else '' }}");
  ChatTemplateInputs in;
  in.messages_json = "[]";
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.extra_context_json = R"({"enable_thinking": false})";
  EXPECT_EQ(t.render(in).value(), "<s>|</s>|True|True|False|");
  in.tools_json = R"([{"type": "function", "function": {"name": "f"}}])";
  EXPECT_EQ(t.render(in).value(), "<s>|</s>|False|True|False|1");
  in.extra_context_json = R"({"bos_token": "B"})";  // extras override the special tokens, like HF kwargs
  EXPECT_EQ(t.render(in).value().substr(0, 2), "B|");
}

TEST(ChatTemplate, BadInputsAreInvalidArgument) {
  ChatTemplate t = compile(kChatML);
  auto expect_invalid = [&](ChatTemplateInputs in, const std::string& needle) {
    auto out = t.render(in);
    ASSERT_FALSE(out.ok()) << "rendered: " << *out;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(out.status().message().find(needle), std::string::npos) << out.status().message();
  };
  ChatTemplateInputs in;
  in.messages_json = "{\"role\": \"user\"}";
  expect_invalid(in, "must be a JSON array");
  in.messages_json = "[{\"role\": \"user\"";
  expect_invalid(in, "messages_json is not valid JSON");
  in.messages_json = "[{\"content\": \"x\"}]";
  expect_invalid(in, "messages[0] needs a string \"role\"");
  in.messages_json = "[\"x\"]";
  expect_invalid(in, "messages[0] must be a JSON object");
  in.messages_json = "[]";
  in.tools_json = "{}";
  expect_invalid(in, "tools_json must be a JSON array");
  in.tools_json = "";
  in.extra_context_json = "[1]";
  expect_invalid(in, "extra_context_json must be a JSON object");
  in.extra_context_json = R"({"messages": []})";
  expect_invalid(in, "may not set 'messages'");
}

TEST(ChatTemplate, ContinueFinalMessageCutsAfterTheContent) {
  ChatTemplate t = compile(kChatML);
  ChatTemplateInputs in;
  in.messages_json = R"([{"role": "user", "content": "Haiku?"}, {"role": "assistant", "content": "Crimson leaves"}])";
  in.add_generation_prompt = false;
  in.continue_final_message = true;
  auto out = t.render(in);
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_EQ(*out, "<|im_start|>user\nHaiku?<|im_end|>\n<|im_start|>assistant\nCrimson leaves");

  // A template that trims the content: the cut falls after the trimmed text.
  ChatTemplate trimming = compile("{% for m in messages %}[{{ m.content|trim }}]{% endfor %}");
  in.messages_json = R"([{"role": "assistant", "content": "partial  "}])";
  EXPECT_EQ(trimming.render(in).value(), "[partial");
}

TEST(ChatTemplate, ContinueFinalMessageErrors) {
  ChatTemplate t = compile(kChatML);
  ChatTemplateInputs in;
  in.messages_json = R"([{"role": "user", "content": "Hi"}])";
  in.continue_final_message = true;
  auto both = t.render(in);  // add_generation_prompt is true by default
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("cannot both be set"), std::string::npos);
  in.add_generation_prompt = false;
  auto not_assistant = t.render(in);
  ASSERT_FALSE(not_assistant.ok());
  EXPECT_EQ(not_assistant.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_assistant.status().message().find("last message to be from the assistant"), std::string::npos);
  in.messages_json = "[]";
  EXPECT_FALSE(t.render(in).ok());
  // A template that drops the final message cannot be continued.
  ChatTemplate dropping = compile("{% for m in messages[:-1] %}{{ m.content }}{% endfor %}");
  in.messages_json = R"([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hel"}])";
  auto dropped = dropping.render(in);
  ASSERT_FALSE(dropped.ok());
  EXPECT_NE(dropped.status().message().find("does not appear"), std::string::npos);
}

TEST(ChatTemplate, CompileErrorsNamePosition) {
  auto t = ChatTemplate::compile("{% for m in messages %}\n{{ m.content }\n{% endfor %}");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("line 2"), std::string::npos) << t.status().message();
}

TEST(ChatTemplate, RenderIsThreadSafe) {
  ChatTemplate t = compile(data_file("qwen3-0.6b.jinja"));
  ChatTemplateInputs in;
  in.messages_json = R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                         {"role": "assistant", "content": "<think>r</think>A"}, {"role": "user", "content": "Q2"}])";
  in.extra_context_json = R"({"enable_thinking": false})";
  std::string expected = t.render(in, fixed_now()).value();
  ASSERT_NE(expected.find("<think>\n\n</think>"), std::string::npos);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 200; ++k) {
        auto out = t.render(in, fixed_now());
        if (!out.ok() || *out != expected) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace tandem::text
