#include "gateway/openai/errors.h"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tandem::gateway::openai {
namespace json = boost::json;

std::string ApiError::to_json() const {
  json::object err;
  err["message"] = message;
  err["type"] = type;
  if (param.empty()) {
    err["param"] = nullptr;
  } else {
    err["param"] = param;
  }
  err["code"] = code;
  json::object root;
  root["error"] = std::move(err);
  return json::serialize(root);
}

namespace {
ApiError make(int status, std::string_view type, std::string_view code, std::string param,
              std::string message) {
  ApiError e;
  e.http_status = status;
  e.type = std::string(type);
  e.code = std::string(code);
  e.param = std::move(param);
  e.message = std::move(message);
  return e;
}
}  // namespace

ApiError invalid_json_error(std::string message) {
  return make(400, "invalid_request_error", kInvalidJson, "",
              "request body is not valid JSON: " + message);
}
ApiError invalid_type_error(std::string param, std::string_view expected) {
  std::string msg = fmt::format("field '{}' must be {}", param, expected);
  return make(400, "invalid_request_error", kInvalidType, std::move(param), std::move(msg));
}
ApiError invalid_value_error(std::string param, std::string message) {
  std::string msg = fmt::format("field '{}': {}", param, message);
  return make(400, "invalid_request_error", kInvalidValue, std::move(param), std::move(msg));
}
ApiError missing_field_error(std::string param) {
  std::string msg = fmt::format("required field '{}' is missing", param);
  return make(400, "invalid_request_error", kMissingField, std::move(param), std::move(msg));
}
ApiError unsupported_parameter_error(std::string param, std::string message) {
  std::string msg = fmt::format("unsupported_parameter: field '{}': {}", param, message);
  return make(400, "invalid_request_error", kUnsupportedParameter, std::move(param),
              std::move(msg));
}
ApiError model_not_found_error(std::string_view model) {
  return make(404, "invalid_request_error", kModelNotFound, "model",
              fmt::format("model '{}' does not exist; GET /v1/models lists the served models",
                          model));
}
ApiError context_length_error(long long prompt_tokens, long long max_tokens, long long limit) {
  return make(400, "invalid_request_error", kContextLengthExceeded, "messages",
              fmt::format("this model's maximum context length is {} tokens; the request has {} "
                          "prompt tokens and asks for {} more; shorten the prompt or lower "
                          "max_tokens",
                          limit, prompt_tokens, max_tokens));
}
ApiError body_too_large_error(unsigned long long limit_bytes) {
  return make(413, "invalid_request_error", kBodyTooLarge, "",
              fmt::format("request body exceeds the limit of {} bytes; send a smaller body or "
                          "raise the server's max body size",
                          limit_bytes));
}
ApiError not_found_error(std::string_view method, std::string_view path) {
  return make(404, "invalid_request_error", kNotFound, "",
              fmt::format("no route for {} {}", method, path));
}
ApiError method_not_allowed_error(std::string_view method, std::string_view path) {
  return make(405, "invalid_request_error", kMethodNotAllowed, "",
              fmt::format("method {} is not allowed on {}", method, path));
}
ApiError internal_error(std::string message) {
  return make(500, "internal_error", kInternalError, "", std::move(message));
}
ApiError shutting_down_error() {
  return make(503, "server_error", kShuttingDown, "",
              "server is shutting down; retry on another instance");
}
ApiError no_available_workers_error(std::string message) {
  return make(503, "server_error", kNoAvailableWorkers, "", std::move(message));
}
ApiError worker_error(std::string message) {
  return make(502, "server_error", kWorkerError, "", std::move(message));
}
ApiError timeout_error(std::string message) {
  return make(504, "server_error", kTimeout, "", std::move(message));
}
ApiError rate_limited_error(std::string message) {
  return make(429, "rate_limit_error", kRateLimited, "", std::move(message));
}
ApiError unauthorized_error(std::string message) {
  return make(401, "authentication_error", kUnauthorized, "", std::move(message));
}

}  // namespace tandem::gateway::openai
