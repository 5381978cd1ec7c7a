#include "gateway/routing/policies/cache_aware.h"
#include "gateway/routing/policies/consistent_hash.h"
#include "gateway/routing/policies/power_of_two.h"
#include "gateway/routing/policies/random_policy.h"
#include "gateway/routing/policies/round_robin.h"
#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

StatusOr<std::unique_ptr<RoutingPolicy>> make_routing_policy(std::string_view name,
                                                             const PolicyConfig& config) {
  std::unique_ptr<RoutingPolicy> p;
  if (name == "round_robin") {
    p = std::make_unique<RoundRobinPolicy>();
  } else if (name == "random") {
    p = std::make_unique<RandomPolicy>(config.seed);
  } else if (name == "power_of_two") {
    p = std::make_unique<PowerOfTwoPolicy>(config.seed);
  } else if (name == "cache_aware") {
    RETURN_IF_ERROR(validate(config.cache_aware));
    p = std::make_unique<CacheAwarePolicy>(config.cache_aware, config.clock);
  } else if (name == "consistent_hash") {
    if (config.consistent_hash.virtual_nodes < 1) {
      return invalid_argument("consistent_hash virtual_nodes must be >= 1, got {}",
                              config.consistent_hash.virtual_nodes);
    }
    p = std::make_unique<ConsistentHashPolicy>(config.consistent_hash);
  } else {
    return invalid_argument(
        "unknown routing policy '{}': use round_robin, random, power_of_two, cache_aware or "
        "consistent_hash",
        name);
  }
  return p;
}

}  // namespace tandem::gateway::routing
