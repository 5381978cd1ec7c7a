// ChatTemplate: turns an OpenAI-style conversation into the prompt text a model expects, by
// rendering the model's Jinja chat template exactly as Hugging Face's apply_chat_template does
// (byte for byte, checked against transformers + jinja2 in tests/data/chat_templates/cases.json).
//
// Messages are normalised first the way SGLang's OpenAI server does before it calls
// apply_chat_template, so prompts match what SGLang would tokenize:
//   - "content": null (or absent) becomes "" and other keys whose value is null are dropped;
//   - a content list of parts becomes the " "-joined text of its {"type": "text"} parts;
//   - string tool-call "arguments" holding a JSON object are parsed into that object;
//   - reasoning under "reasoning_content" / "thinking" / "reasoning" is copied to both
//     "thinking" and "reasoning_content" (transformers 5).
// The template then sees: messages, tools (none when tools_json is ""), documents (none),
// add_generation_prompt, bos_token, eos_token, and every key of extra_context_json.
//
// Thread model: compile() on any thread; a ChatTemplate is immutable, render() is thread-safe.
// Rendering never touches the network and is bounded in time, memory and stack (limits.h).
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tandem::text {

namespace jinja {
class Template;
}

struct ChatTemplateInputs {
  std::string messages_json;            // OpenAI messages array as JSON text (content may be null,
                                        // a string, or a list of {type:"text", text} parts: flatten text parts)
  std::string tools_json;               // JSON array of tools, or "" for none
  bool add_generation_prompt = true;
  bool continue_final_message = false;  // HF semantics, see below
  std::string bos_token, eos_token;
  std::string extra_context_json;       // JSON object merged into the context (e.g. {"enable_thinking": false}), or ""
};

class ChatTemplate {
 public:
  // Syntax errors name line and column.
  static StatusOr<ChatTemplate> compile(std::string_view source);

  // continue_final_message (Hugging Face semantics): the last message must be an assistant
  // message; the prompt is rendered without a generation prompt and cut right after that
  // message's content, so the model continues it. Setting both flags is kInvalidArgument.
  // Errors: kInvalidArgument for bad inputs and template errors (raise_exception(msg) carries
  // msg), kResourceExhausted when the template exceeds its limits.
  StatusOr<std::string> render(const ChatTemplateInputs& in) const;
  // The same with strftime_now() frozen at `now` (reproducible prompts, tests).
  StatusOr<std::string> render(const ChatTemplateInputs& in, const std::tm& now) const;

 private:
  ChatTemplate(std::shared_ptr<const jinja::Template> tmpl, std::string source);
  std::shared_ptr<const jinja::Template> template_;
  std::string source_;
};

}  // namespace tandem::text
