// Top-p (nucleus) cut over an unsorted candidate pool by weighted quickselect: expected O(n), so a
// flat distribution whose nucleus spans most of a 150k vocabulary costs a few passes instead of a
// full sort. Pure function: thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "worker/sampling/top_candidates.h"

namespace tandem::sampling {

struct WeightedCandidate {
  Candidate candidate;
  float weight;  // unnormalized probability, non-increasing along ranks_before
};

// Reorders `pool` so that pool[0, L) holds the nucleus and returns L: in ranks_before order, a
// candidate is kept while the weight of the candidates ranked before it is < target (so the
// kept set is the shortest prefix with weight >= target, and the best candidate is always kept
// when target > 0). Order inside [0, L) is unspecified but deterministic.
size_t partition_nucleus(std::span<WeightedCandidate> pool, double target);

}  // namespace tandem::sampling
