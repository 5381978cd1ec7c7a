#include "gateway/openai/chat_request.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/openai/field_reader.h"

namespace tandem::gateway::openai {
namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 5> kRoles = {"system", "user", "assistant", "tool",
                                                    "developer"};

// content: a string, null/missing, or an array of {type:"text", text:"..."} parts.
void check_content(const json::object& msg, const std::string& p, FieldReader& r) {
  const json::value* c = msg.if_contains("content");
  if (c == nullptr || c->is_null() || c->is_string()) return;
  if (!c->is_array()) {
    return r.fail(invalid_type_error(p + ".content", "a string, null, or an array of parts"));
  }
  const json::array& parts = c->get_array();
  for (std::size_t j = 0; j < parts.size(); ++j) {
    std::string pp = fmt::format("{}.content[{}]", p, j);
    if (!parts[j].is_object()) return r.fail(invalid_type_error(pp, "an object"));
    FieldReader part(parts[j].get_object(), pp + ".");
    std::optional<std::string> type = part.require_string("type");
    if (type && *type != "text") {
      part.fail(unsupported_parameter_error(
          pp + ".type", fmt::format("content part type '{}' is not supported; only 'text' parts "
                                    "are (this server serves text-only models)",
                                    *type)));
    }
    part.require_string("text");
    if (!part.ok()) return r.fail(*part.error());
  }
}

void check_tool_calls(const json::object& msg, const std::string& p, const std::string& role,
                      FieldReader& r) {
  const json::value* tc = msg.if_contains("tool_calls");
  if (tc == nullptr || tc->is_null()) return;
  if (role != "assistant") {
    return r.fail(invalid_value_error(p + ".tool_calls",
                                      "only assistant messages may carry tool_calls"));
  }
  if (!tc->is_array()) return r.fail(invalid_type_error(p + ".tool_calls", "an array"));
  const json::array& calls = tc->get_array();
  for (std::size_t j = 0; j < calls.size(); ++j) {
    std::string cp = fmt::format("{}.tool_calls[{}]", p, j);
    if (!calls[j].is_object()) return r.fail(invalid_type_error(cp, "an object"));
    FieldReader call(calls[j].get_object(), cp + ".");
    call.get_string("id");
    if (auto type = call.get_string("type"); type && *type != "function") {
      call.fail(invalid_value_error(cp + ".type", "must be 'function'"));
    }
    const json::object* fn = call.get_object("function");
    if (call.ok() && fn == nullptr) call.fail(missing_field_error(cp + ".function"));
    if (!call.ok()) return r.fail(*call.error());
    FieldReader f(*fn, cp + ".function.");
    f.require_string("name");
    // arguments is a JSON-encoded string in OpenAI's API; some clients send the object itself.
    if (const json::value* args = f.find("arguments"); args && !args->is_string() &&
                                                          !args->is_object()) {
      f.fail(invalid_type_error(cp + ".function.arguments", "a string (JSON-encoded)"));
    }
    if (!f.ok()) return r.fail(*f.error());
  }
}

void check_messages(FieldReader& r, ChatCompletionRequest& out) {
  if (!r.ok()) return;
  if (!r.has("messages")) return r.fail(missing_field_error("messages"));
  const json::array* msgs = r.get_array("messages");
  if (msgs == nullptr) return;
  if (msgs->empty()) {
    return r.fail(invalid_value_error("messages", "must contain at least one message"));
  }
  for (std::size_t i = 0; i < msgs->size() && r.ok(); ++i) {
    std::string p = fmt::format("messages[{}]", i);
    if (!(*msgs)[i].is_object()) return r.fail(invalid_type_error(p, "an object"));
    const json::object& msg = (*msgs)[i].get_object();
    FieldReader m(msg, p + ".");
    std::optional<std::string> role = m.require_string("role");
    if (role && std::find(kRoles.begin(), kRoles.end(), *role) == kRoles.end()) {
      m.fail(invalid_value_error(p + ".role",
                                 fmt::format("unknown role '{}'; expected one of system, user, "
                                             "assistant, tool, developer",
                                             *role)));
    }
    m.get_string("name");
    m.get_string("tool_call_id");
    m.get_string("reasoning_content");
    if (!m.ok()) return r.fail(*m.error());
    check_content(msg, p, r);
    if (r.ok()) check_tool_calls(msg, p, *role, r);
  }
  out.messages = *msgs;
}

void read_tools(FieldReader& r, ChatCompletionRequest& out) {
  const json::array* tools = r.get_array("tools");
  if (tools == nullptr) return;
  for (std::size_t i = 0; i < tools->size(); ++i) {
    std::string p = fmt::format("tools[{}]", i);
    if (!(*tools)[i].is_object()) return r.fail(invalid_type_error(p, "an object"));
    FieldReader t((*tools)[i].get_object(), p + ".");
    Tool tool;
    if (auto type = t.get_string("type"); type && *type != "function") {
      t.fail(invalid_value_error(p + ".type", fmt::format("must be 'function', got '{}'", *type)));
    }
    const json::object* fn = t.get_object("function");
    if (t.ok() && fn == nullptr) t.fail(missing_field_error(p + ".function"));
    if (!t.ok()) return r.fail(*t.error());
    FieldReader f(*fn, p + ".function.");
    if (auto name = f.require_string("name")) {
      if (name->empty()) f.fail(invalid_value_error(p + ".function.name", "must not be empty"));
      tool.function.name = *name;
    }
    if (auto d = f.get_string("description")) tool.function.description = *d;
    if (const json::object* params = f.get_object("parameters")) {
      tool.function.parameters = *params;
    }
    if (auto s = f.get_bool("strict")) tool.function.strict = *s;
    if (!f.ok()) return r.fail(*f.error());
    out.tools.push_back(std::move(tool));
  }
}

void read_tool_choice(FieldReader& r, ChatCompletionRequest& out) {
  const json::value* v = r.ok() ? r.find("tool_choice") : nullptr;
  if (v == nullptr) return;
  ToolChoice choice;
  if (v->is_string()) {
    std::string_view s = v->get_string();
    if (s == "none") {
      choice.mode = ToolChoice::Mode::kNone;
    } else if (s == "auto") {
      choice.mode = ToolChoice::Mode::kAuto;
    } else if (s == "required") {
      choice.mode = ToolChoice::Mode::kRequired;
    } else {
      return r.fail(invalid_value_error(
          "tool_choice", fmt::format("'{}' is not one of none, auto, required", s)));
    }
  } else if (v->is_object()) {
    FieldReader o(v->get_object(), "tool_choice.");
    if (auto type = o.require_string("type"); type && *type != "function") {
      o.fail(invalid_value_error("tool_choice.type", "must be 'function'"));
    }
    const json::object* fn = o.get_object("function");
    if (o.ok() && fn == nullptr) o.fail(missing_field_error("tool_choice.function"));
    if (!o.ok()) return r.fail(*o.error());
    FieldReader f(*fn, "tool_choice.function.");
    if (auto name = f.require_string("name")) choice.function_name = *name;
    if (!f.ok()) return r.fail(*f.error());
    choice.mode = ToolChoice::Mode::kFunction;
    bool known = false;
    for (const Tool& t : out.tools) known = known || t.function.name == choice.function_name;
    if (!known) {
      return r.fail(invalid_value_error(
          "tool_choice.function.name",
          fmt::format("names '{}', which is not among the request's tools", choice.function_name)));
    }
  } else {
    return r.fail(invalid_type_error("tool_choice", "a string or an object"));
  }
  if (choice.mode == ToolChoice::Mode::kRequired && out.tools.empty()) {
    return r.fail(invalid_value_error("tool_choice", "'required' needs a non-empty 'tools'"));
  }
  out.tool_choice = choice;
}

void read_response_format(FieldReader& r, ChatCompletionRequest& out) {
  const json::object* rf = r.get_object("response_format");
  if (rf == nullptr) return;
  FieldReader f(*rf, "response_format.");
  std::optional<std::string> type = f.require_string("type");
  if (type) {
    if (*type == "text") {
      out.response_format.type = ResponseFormat::Type::kText;
    } else if (*type == "json_object") {
      out.response_format.type = ResponseFormat::Type::kJsonObject;
    } else if (*type == "json_schema") {
      out.response_format.type = ResponseFormat::Type::kJsonSchema;
      const json::object* schema = f.get_object("json_schema");
      if (f.ok() && schema == nullptr) f.fail(missing_field_error("response_format.json_schema"));
      if (schema != nullptr) out.response_format.json_schema = *schema;
    } else {
      f.fail(invalid_value_error("response_format.type",
                                 fmt::format("'{}' is not one of text, json_object, json_schema",
                                             *type)));
    }
  }
  if (!f.ok()) r.fail(*f.error());
}

}  // namespace

ApiResult<ChatCompletionRequest> parse_chat_request(std::string_view body) {
  ApiResult<json::object> obj = parse_body_object(body);
  if (!obj.ok()) return obj.error();
  return parse_chat_request(obj.value());
}

ApiResult<ChatCompletionRequest> parse_chat_request(const json::object& body) {
  ChatCompletionRequest out;
  FieldReader r(body);
  if (auto m = r.get_string("model")) out.model = *m;
  check_messages(r, out);
  read_stream_options(r, out.stream, out.include_usage);
  read_openai_sampling(r, out.sampling);
  if (auto l = r.get_bool("logprobs")) out.logprobs = *l;
  if (auto t = r.get_int("top_logprobs", 0, kMaxTopLogprobs)) {
    out.top_logprobs = static_cast<int>(*t);
  }
  if (r.ok() && out.top_logprobs > 0 && !out.logprobs) {
    r.fail(invalid_value_error("top_logprobs", "needs \"logprobs\": true"));
  }
  read_tools(r, out);
  read_tool_choice(r, out);
  if (auto p = r.get_bool("parallel_tool_calls")) out.parallel_tool_calls = *p;
  read_response_format(r, out);
  if (auto c = r.get_bool("continue_final_message")) out.continue_final_message = *c;
  if (auto a = r.get_bool("add_generation_prompt")) out.add_generation_prompt = *a;
  if (r.ok() && out.continue_final_message && out.add_generation_prompt &&
      r.has("add_generation_prompt")) {
    r.fail(invalid_value_error("continue_final_message",
                               "cannot be combined with add_generation_prompt=true"));
  }
  if (out.continue_final_message) {
    out.add_generation_prompt = false;
    if (r.ok() && out.messages.back().as_object().at("role").as_string() != "assistant") {
      r.fail(invalid_value_error("continue_final_message",
                                 "needs the last message to be an assistant message"));
    }
  }
  if (auto u = r.get_string("user")) out.user = *u;
  if (const json::object* k = r.get_object("chat_template_kwargs")) out.chat_template_kwargs = *k;
  if (auto s = r.get_bool("separate_reasoning")) out.separate_reasoning = *s;
  if (!r.ok()) return *r.error();
  return out;
}

}  // namespace tandem::gateway::openai
