#include "worker/sampling/nucleus.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace tandem::sampling {
namespace {

// Below this many unresolved candidates a sort and a walk beat more partitioning.
constexpr size_t kSortBelow = 32;

inline bool before(const WeightedCandidate& a, const WeightedCandidate& b) {
  return ranks_before(a.candidate, b.candidate);
}

// The same order without branches: which side of the pivot a candidate falls on is a coin toss
// on the first levels, and mispredicted branches would dominate the partition.
inline bool before_branchless(const WeightedCandidate& a, const WeightedCandidate& b) {
  const float x = a.candidate.logit;
  const float y = b.candidate.logit;
  return (x > y) | ((x == y) & (a.candidate.id < b.candidate.id));
}

const WeightedCandidate& median_of_three(std::span<WeightedCandidate> pool, size_t lo, size_t hi) {
  const WeightedCandidate* a = &pool[lo];
  const WeightedCandidate* b = &pool[lo + (hi - lo) / 2];
  const WeightedCandidate* c = &pool[hi - 1];
  if (before(*b, *a)) std::swap(a, b);
  if (before(*c, *b)) std::swap(b, c);
  if (before(*b, *a)) std::swap(a, b);
  return *b;
}

}  // namespace

size_t partition_nucleus(std::span<WeightedCandidate> pool, double target) {
  // Invariant: pool[0, lo) is kept (weight `mass` in total), pool[hi, n) is cut, the rest open.
  size_t lo = 0;
  size_t hi = pool.size();
  double mass = 0.0;
  std::vector<WeightedCandidate> scratch;
  while (hi - lo > kSortBelow) {
    const WeightedCandidate pivot = median_of_three(pool, lo, hi);
    // Out of place: better candidates fill scratch from the front, worse ones from the back, the
    // pivot takes the one slot left between them. Each candidate is written to both ends and
    // only the matching cursor advances, so the loop has no data-dependent branch.
    const size_t len = hi - lo;
    scratch.resize(len);
    size_t num_better = 0, num_worse = 0;
    double better_mass = 0.0;
    for (size_t j = lo; j < hi; ++j) {
      const WeightedCandidate& x = pool[j];
      const bool is_pivot = x.candidate.id == pivot.candidate.id;
      const bool better = before_branchless(x, pivot);
      scratch[num_better] = x;
      scratch[len - 1 - num_worse] = x;
      num_better += better;
      num_worse += !better & !is_pivot;
      better_mass += better ? static_cast<double>(x.weight) : 0.0;
    }
    scratch[num_better] = pivot;
    std::copy(scratch.begin(), scratch.end(), pool.begin() + lo);
    const size_t p = lo + num_better;
    if (mass + better_mass < target) {
      // The pivot's preceding mass is below target: it and everything better are kept.
      mass += better_mass + pivot.weight;
      lo = p + 1;
      if (mass >= target) return lo;  // nothing ranked after the pivot can be kept
    } else {
      hi = p;  // the pivot and everything worse are cut
    }
  }
  std::sort(pool.begin() + lo, pool.begin() + hi, before);
  for (size_t j = lo; j < hi; ++j) {
    if (mass >= target) return j;
    mass += pool[j].weight;
  }
  return hi;
}

}  // namespace tandem::sampling
