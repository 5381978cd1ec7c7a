// Repetition / frequency / presence penalties, logit bias and the min_new_tokens mask: the sparse
// edits a sampling step makes to one sequence's logits before temperature and truncation.
// Engine thread only (owned by one SequenceSampler).
//
// Order of the edits, for a token t with model logit l:
//   1. repetition (t in prompt or generated):  l = l > 0 ? l / repetition_penalty
//                                                        : l * repetition_penalty
//   2. frequency and presence (t generated c > 0 times):
//        l -= frequency_penalty * c + presence_penalty
//   3. logit bias:                             l += bias[t]
//   4. min_new_tokens not reached yet, t an EOS id (unless ignore_eos) or a stop id: l = -inf
// Penalties read the model's own scores first (as in HF and SGLang, where logit_bias is added
// after the penalizers); the user's bias and the mask have the last word.
//
// State grows with the distinct tokens seen, never with the vocabulary, so thousands of
// concurrent requests stay cheap; a penalty left at its neutral value keeps no state at all.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "kernels/sample_rows.h"
#include "worker/sampling/sampling_params.h"

namespace tandem::sampling {

// (token id, logit before the first edit of this step), in the order the edits were made.
using EditLog = std::vector<std::pair<int32_t, float>>;

class LogitEditor {
 public:
  LogitEditor(const SamplingParams& params, std::span<const int32_t> prompt_tokens,
              std::vector<int32_t> eos_ids);

  // Applies the edits for the step that produces generated token number `num_generated` (0-based).
  // Ids outside [0, vocab) are ignored (the params were validated against the model's vocab; a
  // prompt id outside it would have failed the forward pass first). When log is non-null, every
  // edited entry's previous value is appended so the raw logits can be recovered.
  void apply(float* logits, int32_t vocab, int32_t num_generated, EditLog* log) const;

  // The same edits as apply() would make, as a list for Backend::sample_rows (appended to `out` in
  // apply()'s order, which is sorted by kind).
  void describe(int32_t vocab, int32_t num_generated, std::vector<kernels::LogitEdit>& out) const;

  // Records a generated token for the penalties.
  void on_accept(int32_t token);

  // Whether `token` ends the request (an EOS id unless ignore_eos, or a stop id), ignoring
  // min_new_tokens.
  bool is_stop_token(int32_t token) const;

 private:
  float repetition_penalty_;
  float frequency_penalty_;
  float presence_penalty_;
  int32_t min_new_tokens_;
  std::vector<std::pair<int32_t, float>> logit_bias_;
  std::vector<int32_t> masked_until_min_;  // EOS ids (unless ignore_eos) and stop ids
  std::vector<int32_t> stop_ids_;          // same set, sorted, for is_stop_token

  // Distinct tokens of prompt + generated text (repetition penalty only).
  std::unordered_set<int32_t> repeated_set_;
  std::vector<int32_t> repeated_;
  // (token, count) of generated tokens and the index of each token in it (frequency/presence only).
  std::unordered_map<int32_t, int32_t> count_index_;
  std::vector<std::pair<int32_t, int32_t>> counts_;
};

}  // namespace tandem::sampling
