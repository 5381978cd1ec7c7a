// ChatCompletionRequest: POST /v1/chat/completions, parsed and validated. `messages` stays a
// JSON array because the chat template consumes JSON; parse_chat_request has checked its shape
// (roles, content forms, tool_calls) so the template need not.
//
// Threads: plain value type; parsing is a pure function (any thread).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "gateway/openai/api_result.h"
#include "gateway/openai/sampling_fields.h"

namespace tandem::gateway::openai {

struct ToolFunction {
  std::string name;
  std::string description;
  boost::json::value parameters;  // JSON schema object, or null when not given
  bool strict = false;
};

struct Tool {
  std::string type = "function";  // the only type there is
  ToolFunction function;
};

struct ToolChoice {
  enum class Mode { kNone, kAuto, kRequired, kFunction };
  Mode mode = Mode::kAuto;
  std::string function_name;  // for kFunction
};

struct ResponseFormat {
  enum class Type { kText, kJsonObject, kJsonSchema };
  Type type = Type::kText;
  boost::json::value json_schema;  // the "json_schema" object for kJsonSchema
  // json_object / json_schema need constrained decoding, which Tandem does not have: callers
  // answer unsupported_parameter_error("response_format", "no grammar backend").
  bool needs_grammar() const { return type != Type::kText; }
};

struct ChatCompletionRequest {
  std::string model;  // empty when not sent: the gateway serves its only model
  boost::json::array messages;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  SamplingFields sampling;
  bool logprobs = false;
  int top_logprobs = 0;  // 0..20, needs logprobs
  std::vector<Tool> tools;
  std::optional<ToolChoice> tool_choice;  // nullopt = not sent (auto when tools exist)
  bool parallel_tool_calls = true;
  ResponseFormat response_format;
  bool continue_final_message = false;
  bool add_generation_prompt = true;
  std::string user;
  boost::json::object chat_template_kwargs;  // passed through to the template
  bool separate_reasoning = true;
};

inline constexpr int kMaxTopLogprobs = 20;

ApiResult<ChatCompletionRequest> parse_chat_request(std::string_view body);
ApiResult<ChatCompletionRequest> parse_chat_request(const boost::json::object& body);

}  // namespace tandem::gateway::openai
