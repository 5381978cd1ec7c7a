// Translation between SGLang's scheduler protocol and the engine's types: GenerateRequest →
// GenerateInput (presence-aware defaults, rejection of what Tandem does not serve) and EngineEvent →
// GenerateResponse. Pure functions of their arguments; any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"
#include "sglang_scheduler.pb.h"
#include "worker/service/engine.h"

namespace tandem::service {

namespace pb = ::sglang::grpc::scheduler;

// What a proto zero (field not sent) means where zero is not a usable value.
inline constexpr float kDefaultTopP = 1.0f;                // top_p 0 would keep nothing
inline constexpr int32_t kDefaultTopK = -1;                // top_k 0 is "off" as -1 is
inline constexpr float kDefaultRepetitionPenalty = 1.0f;  // 0 is outside (0, 2]

// Limits that the conversion needs; the engine validates everything else (ranges, vocabulary).
struct ConvertLimits {
  int32_t max_context_len = 0;  // used when max_new_tokens is absent: what is left after the prompt
  std::string_view role = "mixed";  // the worker's role: prefill/decode need disaggregated_params
};

// kInvalidArgument for: a constraint ("no grammar backend"), multimodal inputs, input embeddings,
// a missing tokenized input, a logit_bias key that is not a token id, an empty request id,
// disaggregated_params sent to a mixed worker or missing on a prefill/decode worker. Unset
// max_new_tokens means "up to the context limit" as in SGLang. Range checks stay with the engine.
StatusOr<GenerateInput> to_generate_input(const pb::GenerateRequest& req, const ConvertLimits& limits);

// "stop", "length" or "abort" (timeouts are aborts on the wire).
std::string_view finish_reason_wire(FinishReason reason);

// Running totals of one sample index, as a chunk reports them.
struct ChunkCounts {
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;  // including this chunk's tokens
  int32_t cached_tokens = 0;
};

// A chunk for tokens [from, end) of an event (the terminal event carries the whole output, so
// the service streams only its not-yet-sent tail). Counts are running totals for this index.
void fill_chunk(const EngineEvent& ev, size_t from, const ChunkCounts& counts, int32_t top_logprobs,
                pb::GenerateStreamChunk* chunk);

// The Complete for a terminal event: output_ids is the whole output, logprobs cumulative.
void fill_complete(const EngineEvent& ev, bool return_logprob, int32_t top_logprobs,
                   pb::GenerateComplete* complete);

}  // namespace tandem::service
