// GenerateRequest: POST /generate, SGLang's native API: `text` or `input_ids`, a
// `sampling_params` object with SGLang's names, `stream`, `return_logprob`, `top_logprobs_num`,
// `logprob_start_len`, `rid`. One prompt per request (batched text / input_ids are refused).
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

struct GenerateRequest {
  std::optional<std::string> text;              // exactly one of text / input_ids
  std::optional<std::vector<int32_t>> input_ids;
  SamplingFields sampling;
  bool stream = false;
  bool return_logprob = false;
  int top_logprobs_num = 0;  // 0..20
  int64_t logprob_start_len = -1;
  std::string rid;  // request id chosen by the client; empty = generate one
};

ApiResult<GenerateRequest> parse_generate_request(std::string_view body);
ApiResult<GenerateRequest> parse_generate_request(const boost::json::object& body);

}  // namespace tandem::gateway::openai
