#include "worker/sampling/logit_editor.h"

#include <algorithm>

#include "worker/sampling/logit_math.h"

namespace tandem::sampling {
namespace {

inline bool in_vocab(int32_t token, int32_t vocab) { return token >= 0 && token < vocab; }

inline void edit(float* logits, int32_t token, float value, EditLog* log) {
  if (log != nullptr) log->emplace_back(token, logits[token]);
  logits[token] = value;
}

}  // namespace

LogitEditor::LogitEditor(const SamplingParams& params, std::span<const int32_t> prompt_tokens,
                         std::vector<int32_t> eos_ids)
    : repetition_penalty_(params.repetition_penalty),
      frequency_penalty_(params.frequency_penalty),
      presence_penalty_(params.presence_penalty),
      min_new_tokens_(params.min_new_tokens),
      logit_bias_(params.logit_bias) {
  stop_ids_ = params.stop_token_ids;
  if (!params.ignore_eos) stop_ids_.insert(stop_ids_.end(), eos_ids.begin(), eos_ids.end());
  std::sort(stop_ids_.begin(), stop_ids_.end());
  stop_ids_.erase(std::unique(stop_ids_.begin(), stop_ids_.end()), stop_ids_.end());
  if (min_new_tokens_ > 0) masked_until_min_ = stop_ids_;
  if (repetition_penalty_ != 1.0f) {
    for (int32_t token : prompt_tokens) {
      if (repeated_set_.insert(token).second) repeated_.push_back(token);
    }
  }
}

void LogitEditor::apply(float* logits, int32_t vocab, int32_t num_generated, EditLog* log) const {
  if (repetition_penalty_ != 1.0f) {
    for (int32_t token : repeated_) {
      if (!in_vocab(token, vocab)) continue;
      const float l = logits[token];
      edit(logits, token, l > 0.0f ? l / repetition_penalty_ : l * repetition_penalty_, log);
    }
  }
  if (frequency_penalty_ != 0.0f || presence_penalty_ != 0.0f) {
    for (const auto& [token, count] : counts_) {
      if (!in_vocab(token, vocab)) continue;
      edit(logits, token,
           logits[token] - (frequency_penalty_ * static_cast<float>(count) + presence_penalty_),
           log);
    }
  }
  for (const auto& [token, bias] : logit_bias_) {
    if (in_vocab(token, vocab)) edit(logits, token, logits[token] + bias, log);
  }
  if (num_generated < min_new_tokens_) {
    for (int32_t token : masked_until_min_) {
      if (in_vocab(token, vocab)) edit(logits, token, kNegInf, log);
    }
  }
}

void LogitEditor::describe(int32_t vocab, int32_t num_generated, std::vector<kernels::LogitEdit>& out) const {
  using kernels::LogitEditKind;
  auto add = [&](int32_t token, LogitEditKind kind, float value) {
    if (in_vocab(token, vocab)) out.push_back({token, kind, value, 0.0f});
  };
  if (repetition_penalty_ != 1.0f) {
    for (int32_t token : repeated_) add(token, LogitEditKind::kRepeat, repetition_penalty_);
  }
  if (frequency_penalty_ != 0.0f || presence_penalty_ != 0.0f) {
    for (const auto& [token, count] : counts_) {
      add(token, LogitEditKind::kSubtract, frequency_penalty_ * static_cast<float>(count) + presence_penalty_);
    }
  }
  for (const auto& [token, bias] : logit_bias_) add(token, LogitEditKind::kAdd, bias);
  if (num_generated < min_new_tokens_) {
    for (int32_t token : masked_until_min_) add(token, LogitEditKind::kMask, 0.0f);
  }
}

void LogitEditor::on_accept(int32_t token) {
  if (repetition_penalty_ != 1.0f && repeated_set_.insert(token).second) {
    repeated_.push_back(token);
  }
  if (frequency_penalty_ != 0.0f || presence_penalty_ != 0.0f) {
    auto [it, inserted] = count_index_.try_emplace(token, static_cast<int32_t>(counts_.size()));
    if (inserted) {
      counts_.emplace_back(token, 1);
    } else {
      ++counts_[it->second].second;
    }
  }
}

bool LogitEditor::is_stop_token(int32_t token) const {
  return std::binary_search(stop_ids_.begin(), stop_ids_.end(), token);
}

}  // namespace tandem::sampling
