// Per-request sampling and stop parameters, as they arrive from the gateway (OpenAI / SGLang
// semantics). Plain value type: any thread may build, copy or validate one.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tandem::sampling {

// Temperatures below this are treated as greedy (argmax), as SGLang does: dividing logits by a
// tiny temperature only overflows to the same answer, more slowly.
inline constexpr float kGreedyTemperature = 1e-6f;
inline constexpr int32_t kMaxTopLogprobs = 20;

struct SamplingParams {
  // Logits are divided by temperature before softmax. 0 (or < kGreedyTemperature) => greedy:
  // the highest processed logit wins, ties to the lowest token id. Allowed: finite, >= 0.
  float temperature = 1.0f;
  // Nucleus: keep the shortest prefix of tokens (by probability desc, id asc) whose mass is >= top_p.
  // Always keeps at least one token. 1 disables. Allowed: (0, 1].
  float top_p = 1.0f;
  // Keep the top_k most likely tokens (ties to the lowest id). -1 or 0 disables. Allowed: >= -1.
  int32_t top_k = -1;
  // Keep tokens whose probability is >= min_p * (probability of the most likely token). 0 disables.
  // Allowed: [0, 1].
  float min_p = 0.0f;
  // HF / SGLang semantics over every distinct token of the prompt and of the generated text:
  // logit > 0 ? logit / p : logit * p. 1 disables. Allowed: (0, 2].
  float repetition_penalty = 1.0f;
  // OpenAI semantics over generated tokens only: logit -= frequency_penalty * count(token).
  // Allowed: [-2, 2].
  float frequency_penalty = 0.0f;
  // OpenAI semantics over generated tokens only: logit -= presence_penalty if count(token) > 0.
  // Allowed: [-2, 2].
  float presence_penalty = 0.0f;
  // (token id, value) pairs added to the logits after the penalties. Ids in [0, vocab), values finite.
  std::vector<std::pair<int32_t, float>> logit_bias;
  // Same seed + same logits => same tokens, whatever else runs in the batch. Without a seed the
  // sampler uses the engine's fallback seed.
  std::optional<uint64_t> seed;
  // Number of most likely alternatives reported per step (from the raw logits). Allowed: [0, 20].
  int32_t top_logprobs = 0;
  // Report the chosen token's log-probability (from the raw logits).
  bool return_logprob = false;
  // The request ends with kLength once this many tokens were generated. Allowed: >= 0.
  int32_t max_new_tokens = 128;
  // EOS and stop_token_ids are masked (cannot be sampled, do not end the request) until this many
  // tokens were generated. Allowed: [0, max_new_tokens].
  int32_t min_new_tokens = 0;
  // EOS ids neither end the request nor are masked; stop_token_ids still apply.
  bool ignore_eos = false;
  // Extra token ids that end the request (kStop), in addition to the model's EOS ids.
  // Ids in [0, vocab).
  std::vector<int32_t> stop_token_ids;

  // kInvalidArgument naming the first offending field, its allowed range and the value received.
  // vocab_size is the model's logit width (ids must be below it).
  Status validate(int32_t vocab_size) const;

  bool is_greedy() const { return !(temperature >= kGreedyTemperature) || top_k == 1; }
};

}  // namespace tandem::sampling
