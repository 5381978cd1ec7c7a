// SamplingFields: the sampling and stopping knobs shared by /v1/chat/completions,
// /v1/completions and /generate, read from OpenAI names (read_openai_sampling) or SGLang's
// `sampling_params` names (read_sglang_sampling). Unset fields stay nullopt so the caller can
// tell "not sent" from a value (the worker protocol needs presence, not proto3 zeros).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

#include "gateway/openai/api_result.h"

namespace tandem::gateway::openai {

class FieldReader;

inline constexpr int kMaxN = 16;

struct SamplingFields {
  std::optional<int64_t> max_tokens;  // chat: max_completion_tokens wins over max_tokens
  std::optional<int64_t> min_tokens;
  std::optional<double> temperature;         // [0, 2]
  std::optional<double> top_p;               // (0, 1]
  std::optional<int64_t> top_k;              // -1 or 0 = off
  std::optional<double> min_p;               // [0, 1]
  std::optional<double> frequency_penalty;   // [-2, 2]
  std::optional<double> presence_penalty;    // [-2, 2]
  std::optional<double> repetition_penalty;  // (0, 2]
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
  std::vector<int64_t> stop_token_ids;
  std::vector<std::pair<int64_t, double>> logit_bias;  // token id -> bias in [-100, 100]
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  int n = 1;  // 1..kMaxN
};

// OpenAI names: max_tokens, max_completion_tokens, temperature, top_p, top_k, min_p,
// frequency_penalty, presence_penalty, repetition_penalty, seed, stop, stop_token_ids,
// logit_bias, ignore_eos, skip_special_tokens, min_tokens, n.
void read_openai_sampling(FieldReader& r, SamplingFields& out);
// `stream` and `stream_options.include_usage` (chat and completions).
void read_stream_options(FieldReader& r, bool& stream, bool& include_usage);
// SGLang names inside `sampling_params`: max_new_tokens, min_new_tokens, sampling_seed, and the
// shared ones above.
void read_sglang_sampling(FieldReader& r, SamplingFields& out);

// Parses a request body into a JSON object; invalid_json / invalid_type otherwise.
ApiResult<boost::json::object> parse_body_object(std::string_view body);

}  // namespace tandem::gateway::openai
