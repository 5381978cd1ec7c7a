// cache_aware: send a prompt to the worker most likely to hold its prefix in KV cache, unless the
// fleet is out of balance (ACCEPTANCE 20; semantics follow SMG's cache-aware router).
//
// select():
//   1. Load of each candidate = in-flight + running + waiting. If (max - min) > abs threshold
//      (64) AND max > rel threshold (1.5) * min, the fleet is imbalanced: pick the least loaded
//      (the first one on a tie) and ignore the cache.
//   2. Otherwise match the prompt against each candidate's ApproxTree. If the best match covers at
//      least cache_threshold of the prompt, pick that worker (ties: less loaded, then first).
//   3. Otherwise pick the worker whose tree is smallest (it has the most room to take new
//      prefixes), ties broken by load, then by order.
// on_request_routed() inserts the prompt into the chosen worker's tree; it also sweeps entries not
// routed for eviction_ttl, at most once per eviction_interval. Time comes from the injected clock.
//
// Thread model: thread-safe. The tree map has its own lock; each tree locks itself.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/routing/policies/approx_tree.h"
#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

// kInvalidArgument naming the bad field.
Status validate(const CacheAwareConfig& config);

// Step 1 of both cache-aware modes: the least loaded candidate (first on a tie) when the fleet is
// imbalanced — (max - min) > balance_abs_threshold AND max > balance_rel_threshold * min, loads as
// WorkerSnapshot::total_load — else nullopt (route by cache). `candidates` must not be empty.
std::optional<size_t> least_loaded_if_imbalanced(std::span<const WorkerSnapshot> candidates,
                                                 const CacheAwareConfig& config);

class CacheAwarePolicy final : public RoutingPolicy {
 public:
  CacheAwarePolicy(CacheAwareConfig config, std::function<TimePoint()> clock);

  std::string_view name() const override { return "cache_aware"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;
  void on_request_routed(std::string_view worker_id, std::span<const int32_t> tokens) override;
  void on_worker_removed(std::string_view worker_id) override;

  // Tokens remembered for a worker (0 if none), for metrics and tests.
  size_t tree_size(std::string_view worker_id) const;
  // Sweeps every tree now, regardless of eviction_interval.
  void evict_expired();

 private:
  std::shared_ptr<ApproxTree> find_tree(std::string_view worker_id) const;

  const CacheAwareConfig config_;
  const std::function<TimePoint()> clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ApproxTree>, std::less<>> trees_;  // guarded by mu_
  TimePoint last_sweep_{};                                                // guarded by mu_
};

}  // namespace tandem::gateway::routing
