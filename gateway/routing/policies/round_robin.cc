#include "gateway/routing/policies/round_robin.h"

namespace tandem::gateway::routing {

std::optional<size_t> RoundRobinPolicy::select(std::span<const WorkerSnapshot> candidates,
                                               const RouteRequest& /*request*/) {
  if (candidates.empty()) return std::nullopt;
  return static_cast<size_t>(next_.fetch_add(1, std::memory_order_relaxed) % candidates.size());
}

}  // namespace tandem::gateway::routing
