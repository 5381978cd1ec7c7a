// Draws one token from softmax(logits / temperature) restricted by top-k, top-p and min-p.
// Engine thread only (one TokenDrawer per sequence sampler; it owns reusable scratch buffers).
//
// The three truncation rules are judged jointly on the same full distribution
// p = softmax(logits / T), as SGLang does by default: sort tokens by (p desc, id asc); top-k keeps
// the first k, top-p the shortest prefix whose mass is >= top_p (never fewer than one token), min-p
// the tokens with p >= min_p * p_max. Each keeps a prefix of the same order, so the survivors are
// the shortest of the three prefixes; they are renormalized and one is drawn with a uniform u.
//
// Cost for vocabulary V: no truncation or min-p only: two vectorized passes (max, exp + block
// sums) and a walk over V / kExpBlock block sums. top-k: one selection pass. top-p: the exp pass
// for the normalizer plus a selection of the 64 best (then 1024, then all) until their mass
// reaches top_p, and a weighted quickselect (nucleus.h) among them. The vocabulary is never
// sorted; only the last <= 32 candidates at the nucleus boundary are.
#pragma once

#include <cstdint>
#include <vector>

#include "worker/sampling/nucleus.h"
#include "worker/sampling/top_candidates.h"

namespace tandem::sampling {

struct DrawConfig {
  float temperature = 1.0f;  // > 0 (greedy is handled by the caller)
  int32_t top_k = 0;         // <= 0 or >= vocab: off
  float top_p = 1.0f;        // >= 1: off
  float min_p = 0.0f;        // <= 0: off
};

class TokenDrawer {
 public:
  // u in [0, 1). Returns -1 only when no token has positive probability (every logit -inf or NaN).
  int32_t draw(const float* logits, int32_t vocab, const DrawConfig& config, double u);

 private:
  int32_t draw_full_vocab(const float* logits, int32_t vocab, float max_logit, float inv_t,
                          float min_weight, double u);
  int32_t draw_from_candidates(const float* logits, int32_t vocab, float max_logit, float inv_t,
                               const DrawConfig& config, double u);

  // Fills pool_ with `candidates_` and their weights exp((logit - max) / T).
  void weigh_candidates(float max_logit, float inv_t);

  std::vector<Candidate> candidates_;
  std::vector<WeightedCandidate> pool_;
  std::vector<float> weights_;     // candidate weights, then (after min-p) the draw's weights
  std::vector<float> scratch_;     // candidate logits, gathered for the exp kernel
  std::vector<float> block_sums_;  // per kExpBlock block of the vocabulary
};

}  // namespace tandem::sampling
