#include "worker/sampling/token_draw.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "worker/sampling/logit_math.h"

namespace tandem::sampling {
namespace {

// Candidate pool sizes tried for the nucleus: 64, then 1024 (typical LLM nuclei at top_p 0.9 hold
// a few to a few dozen tokens), then everything top-k allows.
constexpr int32_t kFirstNucleusGuess = 64;
constexpr int32_t kNucleusGrowth = 16;
constexpr int32_t kLastNucleusGuess = 1024;

int32_t next_guess(int32_t want, int32_t limit) {
  return std::min(limit, want * kNucleusGrowth <= kLastNucleusGuess ? want * kNucleusGrowth : limit);
}

// Keep a grown candidate buffer only up to this many entries (a flat distribution can make it
// the whole vocabulary once; do not hold that for the rest of the request).
constexpr size_t kMaxRetainedCandidates = 1 << 14;

// Index of the first weight whose running sum exceeds target; when rounding leaves the sum at or
// below target, the last positive weight. -1 when every weight is 0.
int32_t walk(const float* w, int32_t n, double target) {
  double cum = 0.0;
  int32_t last_positive = -1;
  for (int32_t j = 0; j < n; ++j) {
    if (w[j] > 0.0f) {
      last_positive = j;
      cum += w[j];
      if (cum > target) return j;
    }
  }
  return last_positive;
}

}  // namespace

int32_t TokenDrawer::draw(const float* logits, int32_t vocab, const DrawConfig& config, double u) {
  const float max = max_logit(logits, vocab);
  // -inf: nothing can be drawn. +inf: that token takes all the probability mass.
  if (!std::isfinite(max)) return argmax_logit(logits, vocab);
  const float inv_t = 1.0f / config.temperature;
  const float min_weight = config.min_p > 0.0f ? config.min_p : 0.0f;
  const bool top_k_on = config.top_k > 0 && config.top_k < vocab;
  const bool top_p_on = config.top_p < 1.0f;
  int32_t token = -1;
  if (!top_k_on && !top_p_on) {
    token = draw_full_vocab(logits, vocab, max, inv_t, min_weight, u);
  } else {
    token = draw_from_candidates(logits, vocab, max, inv_t, config, u);
  }
  if (candidates_.capacity() > kMaxRetainedCandidates) {
    std::vector<Candidate>().swap(candidates_);
    std::vector<WeightedCandidate>().swap(pool_);
    std::vector<float>().swap(weights_);
    std::vector<float>().swap(scratch_);
  }
  return token;
}

int32_t TokenDrawer::draw_full_vocab(const float* logits, int32_t vocab, float max_logit,
                                     float inv_t, float min_weight, double u) {
  block_sums_.resize(num_exp_blocks(vocab));
  const double total =
      exp_pass(logits, vocab, max_logit, inv_t, min_weight, nullptr, block_sums_.data());
  if (!(total > 0.0)) return argmax_logit(logits, vocab);
  double target = u * total;
  const int32_t num_blocks = static_cast<int32_t>(block_sums_.size());
  int32_t b = 0;
  double before = 0.0;
  for (; b < num_blocks && before + block_sums_[b] <= target; ++b) before += block_sums_[b];
  if (b == num_blocks) {
    // Rounding put the target at the very end: take the last token with positive weight.
    b = num_blocks - 1;
    while (block_sums_[b] <= 0.0f) --b;  // total > 0, so some block is positive
    target = std::numeric_limits<double>::infinity();
  }
  float w[kExpBlock];
  const int32_t begin = b * kExpBlock;
  const int32_t end = std::min(vocab, begin + kExpBlock);
  exp_range(logits, begin, end, max_logit, inv_t, min_weight, w);
  const int32_t j = walk(w, end - begin, target - before);
  return j < 0 ? argmax_logit(logits, vocab) : begin + j;
}

void TokenDrawer::weigh_candidates(float max_logit, float inv_t) {
  // Gather the logits so the exp runs through the vectorized kernel (a flat row's pool can be
  // the whole vocabulary).
  const auto n = static_cast<int32_t>(candidates_.size());
  scratch_.resize(n);
  for (int32_t j = 0; j < n; ++j) scratch_[j] = candidates_[j].logit;
  weights_.resize(n);
  exp_range(scratch_.data(), 0, n, max_logit, inv_t, 0.0f, weights_.data());
  pool_.resize(n);
  for (int32_t j = 0; j < n; ++j) pool_[j] = {candidates_[j], weights_[j]};
}

int32_t TokenDrawer::draw_from_candidates(const float* logits, int32_t vocab, float max_logit,
                                          float inv_t, const DrawConfig& config, double u) {
  const bool top_p_on = config.top_p < 1.0f;
  const int32_t limit = config.top_k > 0 ? std::min(config.top_k, vocab) : vocab;
  size_t keep = 0;
  if (!top_p_on) {
    select_top(logits, vocab, limit, candidates_, /*sorted=*/false);  // top-k needs just the set
    weigh_candidates(max_logit, inv_t);
    keep = pool_.size();
  } else {
    // top-p is judged against the normalizer of the whole temperature-scaled distribution.
    const double target =
        config.top_p * exp_pass(logits, vocab, max_logit, inv_t, 0.0f, nullptr, nullptr);
    // Grow the candidate pool until it holds the nucleus (its mass reaches the target), then cut
    // the nucleus out of it by weighted quickselect. Nothing is sorted.
    for (int32_t want = std::min(limit, kFirstNucleusGuess);; want = next_guess(want, limit)) {
      select_top(logits, vocab, want, candidates_, /*sorted=*/false);
      weigh_candidates(max_logit, inv_t);
      double mass = 0.0;
      for (const WeightedCandidate& c : pool_) mass += c.weight;
      if (mass >= target || want >= limit) {
        keep = partition_nucleus(pool_, target);
        break;
      }
    }
  }
  keep = std::max<size_t>(keep, 1);
  // min-p: p_j >= min_p * p_max  <=>  weight_j >= min_p, as the top token's weight is 1.
  double total = 0.0;
  weights_.resize(keep);
  for (size_t j = 0; j < keep; ++j) {
    const float w = pool_[j].weight;
    weights_[j] = w >= config.min_p ? w : 0.0f;
    total += weights_[j];
  }
  if (!(total > 0.0)) return argmax_logit(logits, vocab);
  const int32_t j = walk(weights_.data(), static_cast<int32_t>(keep), u * total);
  return j < 0 ? argmax_logit(logits, vocab) : pool_[j].candidate.id;
}

}  // namespace tandem::sampling
