// RoutingPolicy: picks one worker out of the healthy candidates for a request.
//
// The request path calls, per attempt:
//   candidates = registry.healthy(role);            // copies, safe to read here
//   idx = policy.select(candidates, request);       // nullopt only when candidates is empty
//   policy.on_request_routed(candidates[*idx].id(), request.tokens);
// Stateful policies (cache_aware) learn only through on_request_routed, so the caller must call
// it for every dispatched request. on_worker_removed lets them drop state for a worker that left.
//
// Thread model: every method of every policy is thread-safe; request threads call them
// concurrently. Implementations keep their locks short and never block on I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/routing/worker.h"

namespace tandem::gateway::routing {

struct RouteRequest {
  std::span<const int32_t> tokens{};  // prompt token ids (may be empty)
  std::string_view text{};          // prompt text (may be empty)
  std::optional<std::string_view> routing_key{};  // session/user header value, when given
};

class RoutingPolicy {
 public:
  virtual ~RoutingPolicy() = default;
  virtual std::string_view name() const = 0;
  // Index into `candidates`, or nullopt when it is empty.
  virtual std::optional<size_t> select(std::span<const WorkerSnapshot> candidates,
                                       const RouteRequest& request) = 0;
  virtual void on_request_routed(std::string_view /*worker_id*/,
                                 std::span<const int32_t> /*tokens*/) {}
  virtual void on_worker_removed(std::string_view /*worker_id*/) {}
};

struct CacheAwareConfig {
  // Route by prefix when the best match covers at least this fraction of the prompt.
  double cache_threshold = 0.5;
  // Load imbalance: (max - min) > balance_abs_threshold AND max > balance_rel_threshold * min.
  int64_t balance_abs_threshold = 64;
  double balance_rel_threshold = 1.5;
  std::chrono::seconds eviction_ttl{120};
  // Expired entries are swept at most this often (lazily, from on_request_routed).
  std::chrono::seconds eviction_interval{5};
  size_t max_tree_tokens = size_t{1} << 22;  // per worker
};

// How cache_aware learns what a worker holds: "approx" remembers what the gateway sent it (a
// radix tree per worker, entries expire); "kv_events" reads the workers' radix-cache events.
enum class CacheAwareMode { kApprox, kKvEvents };
std::string_view cache_aware_mode_name(CacheAwareMode mode);
// Accepts "approx", "kv_events".
StatusOr<CacheAwareMode> parse_cache_aware_mode(std::string_view name);

class KvEventIndex;

struct ConsistentHashConfig {
  int virtual_nodes = 160;  // ring points per worker
};

struct PolicyConfig {
  std::optional<uint64_t> seed;  // random, power_of_two; unset draws from std::random_device
  CacheAwareConfig cache_aware;
  CacheAwareMode cache_aware_mode = CacheAwareMode::kApprox;
  // kv_events mode reads this index (required then); the gateway feeds it from SubscribeKvEvents.
  std::shared_ptr<const KvEventIndex> kv_events;
  ConsistentHashConfig consistent_hash;
  // Time source for cache_aware's eviction; tests inject a fake clock.
  std::function<TimePoint()> clock = [] { return Clock::now(); };
};

// Names: round_robin, random, power_of_two, cache_aware, consistent_hash.
StatusOr<std::unique_ptr<RoutingPolicy>> make_routing_policy(std::string_view name,
                                                             const PolicyConfig& config);

}  // namespace tandem::gateway::routing
