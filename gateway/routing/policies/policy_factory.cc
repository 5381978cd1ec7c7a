#include "gateway/routing/policies/cache_aware.h"
#include "gateway/routing/policies/cache_aware_events.h"
#include "gateway/routing/policies/consistent_hash.h"
#include "gateway/routing/policies/power_of_two.h"
#include "gateway/routing/policies/random_policy.h"
#include "gateway/routing/policies/round_robin.h"
#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

std::string_view cache_aware_mode_name(CacheAwareMode mode) {
  return mode == CacheAwareMode::kKvEvents ? "kv_events" : "approx";
}

StatusOr<CacheAwareMode> parse_cache_aware_mode(std::string_view name) {
  if (name == "approx") return CacheAwareMode::kApprox;
  if (name == "kv_events") return CacheAwareMode::kKvEvents;
  return invalid_argument("unknown cache-aware mode '{}': use approx or kv_events", name);
}

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
    if (config.cache_aware_mode == CacheAwareMode::kKvEvents) {
      if (config.kv_events == nullptr) {
        return invalid_argument("cache_aware in kv_events mode needs the KV event index (internal)");
      }
      p = std::make_unique<KvEventsCacheAwarePolicy>(config.cache_aware, config.kv_events);
    } else {
      p = std::make_unique<CacheAwarePolicy>(config.cache_aware, config.clock);
    }
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
