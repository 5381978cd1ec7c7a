// ApiError: every error the gateway returns to a client, in OpenAI's error shape
//   {"error":{"message":..., "type":..., "param":..., "code":...}}
// `code` strings are stable (clients and tests match on them); `message` says what was wrong and
// what to do. Value type, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tandem::gateway::openai {

// Stable codes (clients match on them; the table in gateway/openai/README.md lists them).
inline constexpr std::string_view kInvalidJson = "invalid_json";
inline constexpr std::string_view kInvalidType = "invalid_type";
inline constexpr std::string_view kInvalidValue = "invalid_value";
inline constexpr std::string_view kMissingField = "missing_field";
inline constexpr std::string_view kContextLengthExceeded = "context_length_exceeded";
inline constexpr std::string_view kModelNotFound = "model_not_found";
inline constexpr std::string_view kUnsupportedParameter = "unsupported_parameter";
inline constexpr std::string_view kBodyTooLarge = "body_too_large";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kNoAvailableWorkers = "no_available_workers";
inline constexpr std::string_view kWorkerError = "worker_error";
inline constexpr std::string_view kTimeout = "timeout";
inline constexpr std::string_view kUnauthorized = "unauthorized";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kMethodNotAllowed = "method_not_allowed";
inline constexpr std::string_view kInternalError = "internal_error";
inline constexpr std::string_view kShuttingDown = "shutting_down";

struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field ("messages[2].role"); empty = none (JSON null)
  std::string code;

  // The OpenAI error body. `param` is null when empty.
  std::string to_json() const;
};

// Constructors for the common cases; each fills http_status, type and code consistently.
ApiError invalid_json_error(std::string message);
ApiError invalid_type_error(std::string param, std::string_view expected);
ApiError invalid_value_error(std::string param, std::string message);
ApiError missing_field_error(std::string param);
ApiError unsupported_parameter_error(std::string param, std::string message);
ApiError model_not_found_error(std::string_view model);
ApiError context_length_error(long long prompt_tokens, long long max_tokens, long long limit);
ApiError body_too_large_error(unsigned long long limit_bytes);
ApiError not_found_error(std::string_view method, std::string_view path);
ApiError method_not_allowed_error(std::string_view method, std::string_view path);
ApiError internal_error(std::string message);
ApiError shutting_down_error();
ApiError no_available_workers_error(std::string message);
ApiError worker_error(std::string message);
ApiError timeout_error(std::string message);
ApiError rate_limited_error(std::string message);
ApiError unauthorized_error(std::string message);

}  // namespace tandem::gateway::openai
