#include "worker/runtime/model_runner.h"

#include "common/check.h"

namespace tandem::runtime {

ModelRunner::ModelRunner(model::LlamaModel& model, KvCache& kv)
    : model_(model), kv_(kv), vocab_(model.config().vocab_size) {}

std::span<float> ModelRunner::forward(const scheduler::StepPlan& plan) {
  batch_.clear();
  for (const scheduler::PlannedSequence& s : plan.sequences) {
    CHECK(!s.new_tokens.empty() && s.new_tokens.size() <= s.context_slots.size(),
          "request {}: {} new tokens for a context of {} slots", s.request_id, s.new_tokens.size(),
          s.context_slots.size());
    batch_.add_sequence(s.new_tokens, s.context_slots);
    // add_sequence asks for the last token's logits; chunks before a prompt's last need none.
    if (!s.needs_logits) batch_.logit_rows.pop_back();
  }
  logits_.resize(batch_.logit_rows.size() * static_cast<size_t>(vocab_));
  if (batch_.num_tokens() > 0) {
    if (before_forward_) before_forward_(batch_);
    model_.forward(batch_, kv_, logits_.data());
  }
  return logits_;
}

}  // namespace tandem::runtime
