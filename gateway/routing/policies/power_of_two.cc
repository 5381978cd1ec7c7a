#include "gateway/routing/policies/power_of_two.h"

#include <utility>

namespace tandem::gateway::routing {

std::optional<size_t> PowerOfTwoPolicy::select(std::span<const WorkerSnapshot> candidates,
                                               const RouteRequest& /*request*/) {
  if (candidates.empty()) return std::nullopt;
  if (candidates.size() == 1) return 0;
  size_t a = rng_.below(candidates.size());
  // Draw the second from the remaining n-1 so the two are always distinct.
  size_t b = rng_.below(candidates.size() - 1);
  if (b >= a) ++b;
  if (b < a) std::swap(a, b);
  return candidates[b].total_load() < candidates[a].total_load() ? b : a;
}

}  // namespace tandem::gateway::routing
