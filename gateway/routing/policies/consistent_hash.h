// consistent_hash: requests with the same routing key (session or user header) go to the same
// worker while it stays a candidate. Each worker owns `virtual_nodes` points on a 64-bit ring
// (xxHash3 of its id with the point index as seed); a key goes to the first point clockwise of
// its hash. Adding or removing one worker therefore moves only the keys on that worker's arcs,
// about 1/N of them. Requests without a key fall back to round robin.
//
// The ring is rebuilt only when the candidate list changes (ids compared in order); the healthy
// list usually stays the same across many requests.
//
// Thread model: thread-safe (the cached ring is mutex-guarded).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "gateway/routing/policies/routing_policy.h"

namespace tandem::gateway::routing {

class ConsistentHashPolicy final : public RoutingPolicy {
 public:
  explicit ConsistentHashPolicy(ConsistentHashConfig config) : config_(config) {}
  std::string_view name() const override { return "consistent_hash"; }
  std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                               const RouteRequest& request) override;

  static uint64_t hash_key(std::string_view key);

 private:
  void rebuild_locked(std::span<const WorkerSnapshot> candidates);

  const ConsistentHashConfig config_;
  std::atomic<uint64_t> next_{0};  // round robin fallback
  std::mutex mu_;
  std::vector<std::string> ring_ids_;                 // guarded by mu_; candidate ids, in order
  std::vector<std::pair<uint64_t, size_t>> ring_;     // guarded by mu_; (point, candidate index)
};

}  // namespace tandem::gateway::routing
