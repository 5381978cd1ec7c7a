// CompletionRequest: POST /v1/completions (the legacy text API), parsed and validated.
// `prompt` may be a string, an array of strings, an array of token ids, or an array of arrays of
// token ids; each becomes one Prompt. A batch of P prompts with n samples each is answered with
// P*n choices, index = prompt_index * n + sample_index (prompt-major, as OpenAI and SGLang).
//
// Threads: plain value type; parsing is a pure function (any thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "gateway/openai/api_result.h"
#include "gateway/openai/sampling_fields.h"

namespace tandem::gateway::openai {

struct Prompt {
  bool is_tokens = false;
  std::string text;                 // when !is_tokens
  std::vector<int32_t> token_ids;   // when is_tokens
};

inline constexpr int kMaxLegacyLogprobs = 5;
// A batch of prompts is answered with prompts x n choices; both are capped so one request cannot
// flood the workers (400 naming the numbers over either limit).
inline constexpr int kMaxPrompts = 64;
inline constexpr int kMaxCompletionChoices = 128;

struct CompletionRequest {
  std::string model;  // empty when not sent
  std::vector<Prompt> prompts;  // at least one
  bool echo = false;
  bool stream = false;
  bool include_usage = false;
  SamplingFields sampling;
  std::optional<int> logprobs;  // 0..5 top alternatives per token; nullopt = no logprobs
  std::string user;
};

ApiResult<CompletionRequest> parse_completion_request(std::string_view body);
ApiResult<CompletionRequest> parse_completion_request(const boost::json::object& body);

// Reads a JSON array of token ids (ints in [0, 2^31)); the error names `param`[i].
ApiResult<std::vector<int32_t>> parse_token_ids(const boost::json::value& v,
                                                const std::string& param);

}  // namespace tandem::gateway::openai
