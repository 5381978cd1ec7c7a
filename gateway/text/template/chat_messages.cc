#include "gateway/text/template/chat_messages.h"

#include "gateway/text/template/value_json.h"

namespace tandem::text::jinja {
namespace {

// SGLang's "string" content format: the text parts joined by one space, other parts dropped.
Value flatten_content(const Value& content) {
  std::string text;
  bool first = true;
  for (const Value& part : content.as_list()) {
    if (!part.is_dict()) continue;
    const Value* type = part.as_dict().find("type");
    const Value* part_text = part.as_dict().find("text");
    if (!type || !type->is_string() || type->as_string() != "text" || !part_text) continue;
    if (!first) text += ' ';
    first = false;
    part_text->append_str(&text);
  }
  return Value::string(std::move(text));
}

// OpenAI sends tool-call arguments as a JSON string; templates expect the object.
Value parse_tool_calls(const Value& tool_calls) {
  ValueList calls;
  for (const Value& call : tool_calls.as_list()) {
    const Value* fn = call.is_dict() ? call.as_dict().find("function") : nullptr;
    const Value* args = fn && fn->is_dict() ? fn->as_dict().find("arguments") : nullptr;
    if (!args || !args->is_string()) {
      calls.push_back(call);
      continue;
    }
    auto parsed = parse_json_value(args->as_string(), "tool call arguments");
    if (!parsed.ok()) {  // keep what the client sent; templates can print a string
      calls.push_back(call);
      continue;
    }
    Dict new_fn = fn->as_dict();
    new_fn.set("arguments", std::move(parsed).value());
    Dict new_call = call.as_dict();
    new_call.set("function", Value::dict(std::move(new_fn)));
    calls.push_back(Value::dict(std::move(new_call)));
  }
  return Value::list(std::move(calls));
}

// transformers 5: {"thinking": reasoning, **message, "reasoning_content": reasoning}.
Dict alias_reasoning(const Dict& message) {
  static constexpr std::string_view kFields[] = {"reasoning_content", "thinking", "reasoning"};
  const Value* reasoning = nullptr;
  for (std::string_view f : kFields) {
    const Value* v = message.find(f);
    if (v && !v->is_none()) {
      reasoning = v;
      break;
    }
  }
  if (!reasoning) return message;
  Dict out;
  out.set("thinking", *reasoning);
  for (const auto& [k, v] : message.entries()) out.set(k, v);
  out.set("reasoning_content", *reasoning);
  return out;
}

}  // namespace

StatusOr<Value> normalize_messages(std::string_view messages_json) {
  ASSIGN_OR_RETURN(Value parsed, parse_json_value(messages_json, "messages_json"));
  if (!parsed.is_list()) {
    return invalid_argument("messages_json must be a JSON array of messages, got a JSON {}", parsed.type_name());
  }
  ValueList messages;
  const ValueList& raw = parsed.as_list();
  messages.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (!raw[i].is_dict()) {
      return invalid_argument("messages[{}] must be a JSON object, got {}", i, raw[i].type_name());
    }
    const Value* role = raw[i].as_dict().find("role");
    if (!role || !role->is_string()) {
      return invalid_argument("messages[{}] needs a string \"role\" (user, assistant, system or tool)", i);
    }
    Dict message;
    for (const auto& [key_value, value] : raw[i].as_dict().entries()) {
      const std::string& key = key_value.as_string();  // JSON object keys are strings
      if (key == "content") {
        if (value.is_none()) message.set(key, Value::string(""));
        else if (value.is_list()) message.set(key, flatten_content(value));
        else message.set(key, value);
      } else if (key == "tool_calls" && value.is_list()) {
        message.set(key, parse_tool_calls(value));
      } else if (!value.is_none()) {
        message.set(key, value);
      }
      // SGLang's message model always has a content field (None, then ""), right after role.
      if (key == "role" && !raw[i].as_dict().find("content")) message.set("content", Value::string(""));
    }
    messages.push_back(Value::dict(alias_reasoning(message)));
  }
  return Value::list(std::move(messages));
}

}  // namespace tandem::text::jinja
