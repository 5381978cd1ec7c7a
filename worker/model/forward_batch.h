// One forward step's input: a ragged batch of sequences, each contributing some new tokens (a whole
// prompt, a prefill chunk, or one decode token) on top of context already in the KV cache.
// Built by the engine thread; plain data.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tandem::model {

struct ForwardBatch {
  std::vector<int32_t> tokens;        // [total new tokens], sequence after sequence
  std::vector<int32_t> positions;     // [total new tokens]
  std::vector<int32_t> new_slots;     // [total new tokens]: where each new token's K/V is stored
  std::vector<int32_t> q_offsets{0};  // [num_seqs + 1] into tokens
  std::vector<int32_t> ctx_lens;      // [num_seqs]: context length including the new tokens
  std::vector<int32_t> slot_offsets{0};  // [num_seqs + 1] into slots
  std::vector<int32_t> slots;         // per sequence, the slots of its whole context
  std::vector<int32_t> logit_rows;    // rows of `tokens` whose logits the caller wants, in order

  int num_seqs() const { return static_cast<int>(ctx_lens.size()); }
  int num_tokens() const { return static_cast<int>(tokens.size()); }

  // Adds a sequence whose context is `context_slots` (cached tokens first, then one slot per new
  // token); `new_tokens` are the last new_tokens.size() tokens of that context. all_logits: logits
  // for every new token (scoring, tests) instead of only the last.
  void add_sequence(std::span<const int32_t> new_tokens, std::span<const int32_t> context_slots,
                    bool all_logits = false);
  void clear();
};

}  // namespace tandem::model
