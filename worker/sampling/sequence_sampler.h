// Per-request sampling: logit edits (penalties, bias, min_new_tokens mask), temperature,
// top-k / top-p / min-p, the random draw, logprobs, and the stop decision for each new token.
//
// Thread model: engine thread only. One SequenceSampler per running request; the engine calls
// sample() with that request's logit row each decode step, then accept() with the token it keeps.
// Nothing is shared between samplers, so batches can be sampled in any order (or in parallel, one
// sampler per thread) with identical results.
//
// Determinism: the uniform number behind draw j of step n (n = tokens accepted so far, j = calls
// to sample() since the last accept()) is a pure function of (seed, n, j) (see counter_rng.h).
// The same seed and the same logits give the same tokens, whatever else is in the batch, and a
// request that is retracted and recomputed, or resumed on another worker with a sampler that was
// fed the same accepted tokens, draws exactly what it would have.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "worker/sampling/counter_rng.h"
#include "worker/sampling/logit_editor.h"
#include "worker/sampling/sampling_params.h"
#include "worker/sampling/token_draw.h"
#include "worker/sampling/top_candidates.h"

namespace tandem::sampling {

struct TokenLogprob {
  int32_t token;
  float logprob;
};

struct SampleResult {
  int32_t token;
  // log_softmax of the RAW logits (as the model produced them: before penalties, bias, masks,
  // temperature and truncation) at `token`. Filled when return_logprob or top_logprobs > 0,
  // otherwise 0.
  float logprob;
  // The top_logprobs most likely tokens under the same raw log_softmax, most likely first (ties:
  // lower id first). Empty when top_logprobs == 0.
  std::vector<TokenLogprob> top_logprobs;
};

enum class FinishReason {
  kNone,    // keep generating
  kStop,    // an EOS id (unless ignore_eos) or a stop_token_ids id, once min_new_tokens is reached
  kLength,  // max_new_tokens generated
};

class SequenceSampler {
 public:
  // params must have passed params.validate(vocab); the vocab-independent checks are CHECKed here.
  // eos_ids: the model's end-of-sequence ids (e.g. <|im_end|>, <|endoftext|>).
  // fallback_seed: used when params.seed is empty (the engine passes e.g. a per-request random).
  SequenceSampler(const SamplingParams& params, std::span<const int32_t> prompt_tokens,
                  std::vector<int32_t> eos_ids, uint64_t fallback_seed);

  // Picks the next token from logits[0, vocab). Steps, in order:
  //   1. logprobs (if requested) from the raw logits;
  //   2. penalties, logit_bias, min_new_tokens mask (see logit_editor.h for the exact formulas);
  //   3. greedy (temperature < kGreedyTemperature or top_k == 1): the highest edited logit, ties to
  //      the lowest id; otherwise a draw from softmax(edited / temperature) truncated by top-k,
  //      top-p and min-p judged jointly on that distribution (see token_draw.h).
  // The logits are modified in place (only the entries step 2 edits; O(distinct tokens seen)).
  // CHECK-fails if no token can be chosen (every logit -inf or NaN after the edits).
  SampleResult sample(float* logits, int32_t vocab);

  // The device path, instead of sample(): describes this step (edits, temperature and truncation,
  // the draw's uniform) for Backend::sample_rows. Appends the row's edits to `edits` and fills
  // every field of `row` but logit_row. Returns false, describing nothing, when the step needs the
  // host (top_logprobs > 0: call sample() with the row's raw logits instead).
  bool describe_step(int32_t vocab, kernels::SampleRow& row, std::vector<kernels::LogitEdit>& edits);
  // The device's answer to the step describe_step described. CHECK-fails like sample() when no
  // token could be chosen.
  SampleResult take_result(const kernels::SampledToken& sampled);

  // Records the token the engine keeps for this step (normally sample()'s, but any id works, e.g.
  // a token forced by a grammar or produced by a prefill worker). Returns kStop when it is an EOS id
  // (unless ignore_eos) or a stop id and at least min_new_tokens tokens came before it; else kLength
  // once max_new_tokens tokens were generated (stop wins when both hold: the model did finish);
  // else kNone. With max_new_tokens == 0 the engine should not sample at all: the first accept()
  // returns kLength.
  FinishReason accept(int32_t token);

  int32_t num_generated() const { return num_generated_; }
  const SamplingParams& params() const { return params_; }

 private:
  void fill_logprobs(const float* raw_logits, int32_t vocab, SampleResult& result);
  float raw_logit(const float* logits, int32_t token) const;

  SamplingParams params_;
  LogitEditor editor_;
  CounterRng rng_;
  TokenDrawer drawer_;
  int32_t num_generated_ = 0;
  uint32_t draws_this_step_ = 0;
  double log_normalizer_ = 0.0;  // log_sum_exp of this step's raw logits (when logprobs wanted)
  EditLog edit_log_;             // this step's edits, to recover raw logits for the logprob
  std::vector<Candidate> top_scratch_;
};

}  // namespace tandem::sampling
