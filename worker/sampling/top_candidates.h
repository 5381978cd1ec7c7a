// Partial selection of the best tokens of one logit row, without sorting the vocabulary.
// Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace tandem::sampling {

struct Candidate {
  int32_t id;
  float logit;
};

// The total order every truncation rule uses: higher logit first, lower id first among ties.
inline bool ranks_before(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// Replaces `out` with the min(m, n) best tokens of x[0..n) by ranks_before, sorted that way unless
// `sorted` is false (then in an unspecified but deterministic order). NaN logits rank as -inf.
// Cost: one vectorized threshold pass over x plus O(1) amortized per token admitted to the running
// top set (about m * (2 + ln(n / m)) on typical logits); for m >= 256 a threshold estimated from
// every 16th logit admits about 2m tokens in one pass instead. Sorting costs m log m. When m is a
// large fraction of n, nth_element over all ids.
void select_top(const float* x, int32_t n, int32_t m, std::vector<Candidate>& out,
                bool sorted = true);

}  // namespace tandem::sampling
