#include "worker/sampling/sequence_sampler.h"

#include <cmath>
#include <limits>
#include <utility>

#include "common/check.h"
#include "worker/sampling/logit_math.h"

namespace tandem::sampling {
namespace {

Status validate_without_vocab(const SamplingParams& params) {
  // Every id is below INT32_MAX, so this checks all but the vocabulary bounds.
  return params.validate(std::numeric_limits<int32_t>::max());
}

}  // namespace

SequenceSampler::SequenceSampler(const SamplingParams& params,
                                 std::span<const int32_t> prompt_tokens,
                                 std::vector<int32_t> eos_ids, uint64_t fallback_seed)
    : params_(params),
      editor_(params, prompt_tokens, std::move(eos_ids)),
      rng_(params.seed.value_or(fallback_seed)) {
  const Status status = validate_without_vocab(params);
  CHECK(status.ok(), "SequenceSampler needs validated SamplingParams: {}", status.message());
}

SampleResult SequenceSampler::sample(float* logits, int32_t vocab) {
  CHECK(vocab > 0, "sample() needs a non-empty logit row, got vocab = {}", vocab);
  SampleResult result{-1, 0.0f, {}};
  const bool want_logprobs = params_.return_logprob || params_.top_logprobs > 0;
  edit_log_.clear();
  if (want_logprobs) fill_logprobs(logits, vocab, result);

  editor_.apply(logits, vocab, num_generated_, want_logprobs ? &edit_log_ : nullptr);

  if (params_.is_greedy()) {
    result.token = argmax_logit(logits, vocab);
  } else {
    const uint64_t counter = (static_cast<uint64_t>(num_generated_) << 32) | draws_this_step_;
    ++draws_this_step_;
    const DrawConfig config{params_.temperature, params_.top_k, params_.top_p, params_.min_p};
    result.token = drawer_.draw(logits, vocab, config, rng_.uniform(counter));
  }
  CHECK(result.token >= 0,
        "no token can be sampled: all {} logits are -inf or NaN after penalties, bias and masks "
        "(step {}); the model produced invalid logits",
        vocab, num_generated_);
  if (want_logprobs) {
    result.logprob =
        static_cast<float>(static_cast<double>(raw_logit(logits, result.token)) - log_normalizer_);
  }
  return result;
}

bool SequenceSampler::describe_step(int32_t vocab, kernels::SampleRow& row, std::vector<kernels::LogitEdit>& edits) {
  if (params_.top_logprobs > 0) return false;
  row.edit_begin = static_cast<int32_t>(edits.size());
  editor_.describe(vocab, num_generated_, edits);
  row.edit_end = static_cast<int32_t>(edits.size());
  row.greedy = params_.is_greedy() ? 1 : 0;
  row.want_logprob = params_.return_logprob ? 1 : 0;
  row.temperature = params_.temperature;
  row.top_k = params_.top_k;
  row.top_p = params_.top_p;
  row.min_p = params_.min_p;
  row.u = 0.0;
  if (!row.greedy) {
    // The same counter as sample(): draw j of step n.
    const uint64_t counter = (static_cast<uint64_t>(num_generated_) << 32) | draws_this_step_;
    ++draws_this_step_;
    row.u = rng_.uniform(counter);
  }
  return true;
}

SampleResult SequenceSampler::take_result(const kernels::SampledToken& sampled) {
  CHECK(sampled.token >= 0,
        "no token can be sampled: every logit is -inf or NaN after penalties, bias and masks (step {}); the "
        "model produced invalid logits",
        num_generated_);
  return {sampled.token, params_.return_logprob ? sampled.logprob : 0.0f, {}};
}

void SequenceSampler::fill_logprobs(const float* raw_logits, int32_t vocab, SampleResult& result) {
  log_normalizer_ = log_sum_exp(raw_logits, vocab);
  if (params_.top_logprobs == 0) return;
  select_top(raw_logits, vocab, params_.top_logprobs, top_scratch_);
  result.top_logprobs.reserve(top_scratch_.size());
  for (const Candidate& c : top_scratch_) {
    result.top_logprobs.push_back(
        {c.id, static_cast<float>(static_cast<double>(c.logit) - log_normalizer_)});
  }
}

float SequenceSampler::raw_logit(const float* logits, int32_t token) const {
  // The first logged edit of a token holds its value before any edit of this step.
  for (const auto& [id, before] : edit_log_) {
    if (id == token) return before;
  }
  return logits[token];
}

FinishReason SequenceSampler::accept(int32_t token) {
  const bool may_stop = num_generated_ >= params_.min_new_tokens;
  ++num_generated_;
  draws_this_step_ = 0;
  editor_.on_accept(token);
  if (may_stop && editor_.is_stop_token(token)) return FinishReason::kStop;
  if (num_generated_ >= params_.max_new_tokens) return FinishReason::kLength;
  return FinishReason::kNone;
}

}  // namespace tandem::sampling
