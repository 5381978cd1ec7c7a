// round_robin: candidates in turn. The counter is global to the policy, not per candidate set,
// so the rotation is exact while the set is stable and simply continues when it changes.
// Thread-safe (atomic counter).
#pragma once

#include <atomic>

#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

class RoundRobinPolicy final : public RoutingPolicy {
 public:
  std::string_view name() const override { return "round_robin"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;

 private:
  std::atomic<uint64_t> next_{0};
};

}  // namespace tandem::gateway::routing
