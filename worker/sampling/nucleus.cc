#include "worker/sampling/nucleus.h"

#include <algorithm>
#include <utility>

namespace tandem::sampling {
namespace {

// Below this many unresolved candidates a sort and a walk beat more partitioning.
constexpr size_t kSortBelow = 32;

inline bool before(const WeightedCandidate& a, const WeightedCandidate& b) {
  return ranks_before(a.candidate, b.candidate);
}

// Moves the median of pool[lo], pool[mid], pool[hi - 1] to pool[hi - 1] (sorted runs, which
// arrive whenever logits tie and ids ascend, stay O(n)).
void median_of_three_to_back(std::span<WeightedCandidate> pool, size_t lo, size_t hi) {
  const size_t mid = lo + (hi - lo) / 2;
  size_t a = lo, b = mid, c = hi - 1;
  if (before(pool[b], pool[a])) std::swap(a, b);
  if (before(pool[c], pool[b])) std::swap(b, c);
  if (before(pool[b], pool[a])) std::swap(a, b);
  std::swap(pool[b], pool[hi - 1]);
}

}  // namespace

size_t partition_nucleus(std::span<WeightedCandidate> pool, double target) {
  // Invariant: pool[0, lo) is kept (weight `mass` in total), pool[hi, n) is cut, the rest open.
  size_t lo = 0;
  size_t hi = pool.size();
  double mass = 0.0;
  while (hi - lo > kSortBelow) {
    median_of_three_to_back(pool, lo, hi);
    const WeightedCandidate pivot = pool[hi - 1];
    auto split = std::partition(pool.begin() + lo, pool.begin() + (hi - 1),
                                [&](const WeightedCandidate& x) { return before(x, pivot); });
    const size_t p = static_cast<size_t>(split - pool.begin());
    std::swap(pool[p], pool[hi - 1]);
    double better_mass = 0.0;
    for (size_t j = lo; j < p; ++j) better_mass += pool[j].weight;
    if (mass + better_mass < target) {
      // The pivot's preceding mass is below target: it and everything better are kept.
      mass += better_mass + pool[p].weight;
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
