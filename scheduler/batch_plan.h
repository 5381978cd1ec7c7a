// StepPlan: what the scheduler asks the engine to run in one forward step, and the result types it
// hands back. Plain data; the engine turns a StepPlan into a model::ForwardBatch (one
// add_sequence per PlannedSequence, in order) without the scheduler knowing about the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/request.h"

namespace tandem::scheduler {

struct PlannedSequence {
  std::string request_id;
  std::vector<int32_t> new_tokens;     // a prefill chunk, or the one decode token
  std::vector<int32_t> context_slots;  // slots of the whole context; the last new_tokens.size()
                                       // entries are where the new tokens' K/V go
  int32_t position_start = 0;          // position of new_tokens[0] (= context - new tokens)
  bool needs_logits = false;           // last chunk of a prefill, or a decode: one sampled token
  bool is_decode = false;
};

struct StepPlan {
  uint64_t step = 0;  // plan_step call counter; complete_step CHECKs it matches
  // Order: decodes, then continuing prefill chunks, then newly admitted prefills.
  std::vector<PlannedSequence> sequences;
  bool empty() const { return sequences.empty(); }
  // Sequences with needs_logits: complete_step expects exactly one sampled token per such row,
  // in sequence order.
  int32_t num_logit_rows() const;
  int32_t num_new_tokens() const;
};

// One terminal message per request (finished, aborted, timed out).
struct RequestResult {
  std::string id;
  FinishReason finish_reason = FinishReason::kNone;
  std::vector<int32_t> output;
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0;   // prompt tokens served from the radix cache at the last admission
  int32_t preemptions = 0;     // retractions
  Duration e2e_latency{};      // arrival -> terminal, >= 0 also for aborts
  std::optional<Duration> time_to_first_token;
};

struct LoadReport {
  int32_t running = 0;       // admitted (prefilling or decoding)
  int32_t waiting = 0;       // queued, including retracted requests
  int32_t used_tokens = 0;   // slots held by requests or the radix cache
  int32_t total_tokens = 0;  // the usable pool (min of pool size and max_total_tokens)
  double cache_hit_rate = 0.0;  // matched / queried prefix tokens since construction
};

}  // namespace tandem::scheduler
