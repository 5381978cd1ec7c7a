#include "worker/model/forward_batch.h"

#include "common/check.h"

namespace tandem::model {

void ForwardBatch::add_sequence(std::span<const int32_t> new_tokens, std::span<const int32_t> context_slots,
                                bool all_logits) {
  const int32_t q_len = static_cast<int32_t>(new_tokens.size());
  const int32_t ctx = static_cast<int32_t>(context_slots.size());
  CHECK(q_len > 0 && q_len <= ctx, "sequence with {} new tokens and a context of {}", q_len, ctx);
  const int32_t first_row = static_cast<int32_t>(tokens.size());
  for (int32_t i = 0; i < q_len; ++i) {
    tokens.push_back(new_tokens[i]);
    positions.push_back(ctx - q_len + i);
    new_slots.push_back(context_slots[ctx - q_len + i]);
  }
  q_offsets.push_back(static_cast<int32_t>(tokens.size()));
  ctx_lens.push_back(ctx);
  slots.insert(slots.end(), context_slots.begin(), context_slots.end());
  slot_offsets.push_back(static_cast<int32_t>(slots.size()));
  if (all_logits) {
    for (int32_t i = 0; i < q_len; ++i) logit_rows.push_back(first_row + i);
  } else {
    logit_rows.push_back(first_row + q_len - 1);
  }
}

void ForwardBatch::clear() {
  tokens.clear();
  positions.clear();
  new_slots.clear();
  q_offsets.assign(1, 0);
  ctx_lens.clear();
  slot_offsets.assign(1, 0);
  slots.clear();
  logit_rows.clear();
}

}  // namespace tandem::model
