#include "gateway/text/template/chat_template.h"

#include <fmt/format.h>

#include "gateway/text/template/chat_messages.h"
#include "gateway/text/template/py_string.h"
#include "gateway/text/template/template.h"
#include "gateway/text/template/value_json.h"

namespace tandem::text {
namespace {

using jinja::Dict;
using jinja::Value;

// What transformers appends to the final message to find where its content ends.
constexpr std::string_view kContinueTag = "CONTINUE_FINAL_MESSAGE_TAG ";
constexpr std::string_view kContinueTagStripped = "CONTINUE_FINAL_MESSAGE_TAG";
constexpr std::string_view kReservedKeys[] = {"messages", "tools", "documents", "add_generation_prompt"};

std::string strip(std::string_view s) { return jinja::py_strip(s, std::nullopt, jinja::StripSide::kBoth); }

// Marks the final assistant message's content; returns the content as it was.
StatusOr<std::string> tag_final_message(Value* messages, std::string_view source) {
  const jinja::ValueList& list = messages->as_list();
  if (list.empty()) return invalid_argument("continue_final_message is set but the conversation is empty");
  const Dict& last = list.back().as_dict();
  const Value* role = last.find("role");
  if (role->as_string() != "assistant") {
    return invalid_argument("continue_final_message needs the last message to be from the assistant, but it is "
                            "from '{}' (message {})", role->as_string(), list.size() - 1);
  }
  const Value* content = last.find("content");
  if (!content || !content->is_string()) {
    return invalid_argument("continue_final_message is set but the final message has no string \"content\" to continue");
  }
  if (source.find("content") == std::string_view::npos) {
    return invalid_argument("continue_final_message is set but the chat template never reads \"content\"");
  }
  std::string original = content->as_string();
  Dict tagged = last;
  tagged.set("content", Value::string(original + std::string(kContinueTag)));
  jinja::ValueList copy = list;
  copy.back() = Value::dict(std::move(tagged));
  *messages = Value::list(std::move(copy));
  return original;
}

// Cuts the rendered prompt right after the final message's content (transformers' rule).
StatusOr<std::string> cut_after_final_message(std::string rendered, const std::string& final_message) {
  if (rendered.find(strip(final_message)) == std::string::npos ||
      rendered.find(kContinueTagStripped) == std::string::npos) {
    return invalid_argument("continue_final_message is set but the final message does not appear in the rendered "
                            "prompt (the chat template drops or rewrites it), so it cannot be continued");
  }
  size_t tag = rendered.rfind(kContinueTagStripped);
  bool spacing_kept = rendered.compare(tag, kContinueTag.size(), kContinueTag) == 0;
  rendered.resize(tag);
  if (!spacing_kept) rendered = jinja::py_strip(rendered, std::nullopt, jinja::StripSide::kRight);
  return rendered;
}

}  // namespace

ChatTemplate::ChatTemplate(std::shared_ptr<const jinja::Template> tmpl, std::string source)
    : template_(std::move(tmpl)), source_(std::move(source)) {}

StatusOr<ChatTemplate> ChatTemplate::compile(std::string_view source) {
  ASSIGN_OR_RETURN(jinja::Template tmpl, jinja::Template::compile(source));
  return ChatTemplate(std::make_shared<const jinja::Template>(std::move(tmpl)), std::string(source));
}

StatusOr<std::string> ChatTemplate::render(const ChatTemplateInputs& in) const {
  std::time_t t = std::time(nullptr);
  std::tm now{};
  localtime_r(&t, &now);  // Hugging Face uses datetime.now(): local time
  return render(in, now);
}

StatusOr<std::string> ChatTemplate::render(const ChatTemplateInputs& in, const std::tm& now) const {
  if (in.add_generation_prompt && in.continue_final_message) {
    return invalid_argument("add_generation_prompt and continue_final_message cannot both be set: use "
                            "continue_final_message to extend the last assistant message, or "
                            "add_generation_prompt to start a new one");
  }
  ASSIGN_OR_RETURN(Value messages, jinja::normalize_messages(in.messages_json));
  std::string final_message;
  if (in.continue_final_message) {
    ASSIGN_OR_RETURN(final_message, tag_final_message(&messages, source_));
  }

  Value tools = Value::none();
  if (!in.tools_json.empty()) {
    ASSIGN_OR_RETURN(tools, jinja::parse_json_value(in.tools_json, "tools_json"));
    if (!tools.is_list()) return invalid_argument("tools_json must be a JSON array of tools (or empty), got a JSON {}", tools.type_name());
  }

  Dict context;
  context.set("bos_token", Value::string(in.bos_token));
  context.set("eos_token", Value::string(in.eos_token));
  if (!in.extra_context_json.empty()) {
    ASSIGN_OR_RETURN(Value extra, jinja::parse_json_value(in.extra_context_json, "extra_context_json"));
    if (!extra.is_dict()) {
      return invalid_argument("extra_context_json must be a JSON object, got a JSON {}", extra.type_name());
    }
    for (const auto& [key_value, value] : extra.as_dict().entries()) {
      const std::string& key = key_value.as_string();  // JSON object keys are strings
      for (std::string_view reserved : kReservedKeys) {
        if (key == reserved) {
          return invalid_argument("extra_context_json may not set '{}'; it is part of the chat request itself", key);
        }
      }
      context.set(key, value);
    }
  }
  context.set("messages", std::move(messages));
  context.set("tools", std::move(tools));
  context.set("documents", Value::none());
  context.set("add_generation_prompt", Value::boolean(in.add_generation_prompt));

  jinja::RenderOptions options;
  options.now = now;
  ASSIGN_OR_RETURN(std::string rendered, template_->render(context, options));
  if (!in.continue_final_message) return rendered;
  return cut_after_final_message(std::move(rendered), final_message);
}

}  // namespace tandem::text
