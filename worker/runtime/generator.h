// Runs a fixed set of requests to completion: ragged batched prefill (prompts packed into forward
// passes of at most max_batch_tokens), then batched decode of every unfinished sequence, one token
// per sequence per step. This is the engine's simplest driver (used by `tandem generate`); the
// scheduler (continuous batching, prefix cache, chunking) replaces it in the worker.
// Engine thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "worker/model/llama_model.h"
#include "worker/runtime/kv_cache.h"
#include "worker/sampling/sequence_sampler.h"

namespace tandem::runtime {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  sampling::SamplingParams params;
};

struct TokenEvent {
  int request = 0;  // index into the request list
  sampling::SampleResult sample;
  sampling::FinishReason finish = sampling::FinishReason::kNone;
};

struct GenerateStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int decode_steps = 0;
};

class Generator {
 public:
  // base_seed seeds requests that carry no seed of their own (request i gets base_seed + i).
  Generator(model::LlamaModel& model, KvCache& kv, std::vector<int32_t> eos_ids, uint64_t base_seed = 0,
            int max_batch_tokens = 2048);

  // Calls on_token for every sampled token in order of generation (per request). Fails (without
  // running anything) when a prompt is empty, too long for the model, or the KV cache cannot hold
  // every request's prompt + max_new_tokens.
  StatusOr<GenerateStats> run(const std::vector<GenerateRequest>& requests,
                              const std::function<void(const TokenEvent&)>& on_token);

 private:
  model::LlamaModel& model_;
  KvCache& kv_;
  std::vector<int32_t> eos_ids_;
  uint64_t base_seed_;
  int max_batch_tokens_;
};

}  // namespace tandem::runtime
