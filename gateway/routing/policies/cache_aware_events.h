// cache_aware in "kv_events" mode: the same rule as cache_aware (ACCEPTANCE 20), but the prefix a
// worker holds is known exactly, from its radix-cache events (KvEventIndex), instead of guessed
// from what the gateway sent it.
//
// select():
//   1. Load imbalanced (least_loaded_if_imbalanced in cache_aware.h, shared with the approx mode):
//      the least loaded worker (first on a tie); the cache is ignored.
//   2. Otherwise the worker holding the longest cached prefix of the prompt, in whole blocks, if
//      it covers at least cache_threshold of the prompt (ties: less loaded, then first).
//   3. Otherwise the least loaded worker; ties go to the one holding fewer blocks (more room for
//      new prefixes), then the first.
// Nothing is learned from routing itself: only events change the index, so a prompt counts as
// cached once the worker has actually stored it.
//
// Thread model: thread-safe (the index locks itself; the policy has no other state).
#pragma once

#include <memory>

#include "gateway/routing/kv_event_index.h"
#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

class KvEventsCacheAwarePolicy final : public RoutingPolicy {
 public:
  KvEventsCacheAwarePolicy(CacheAwareConfig config, std::shared_ptr<const KvEventIndex> index);

  std::string_view name() const override { return "cache_aware"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;

 private:
  const CacheAwareConfig config_;
  const std::shared_ptr<const KvEventIndex> index_;
};

}  // namespace tandem::gateway::routing
