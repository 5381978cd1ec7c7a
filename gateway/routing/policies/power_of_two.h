// power_of_two: sample two distinct candidates at random and take the less loaded one
// (WorkerSnapshot::total_load: in-flight + running + waiting). On a tie the one earlier in the
// candidate list wins, so equal loads give a deterministic answer for a given draw.
// Thread-safe.
#pragma once

#include "gateway/routing/policies/random_policy.h"
#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

class PowerOfTwoPolicy final : public RoutingPolicy {
 public:
  explicit PowerOfTwoPolicy(std::optional<uint64_t> seed) : rng_(seed) {}
  std::string_view name() const override { return "power_of_two"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;

 private:
  LockedRng rng_;
};

}  // namespace tandem::gateway::routing
