// WorkerPool: the gateway's workers — the registry (health, circuit breakers, load), one gRPC
// client per worker, the routing policies, the background health checker, and the served model's
// context (fetched from the first worker that answers).
//
// Two modes, fixed at start (GatewayConfig::pd):
//   - mixed: every worker is `mixed`; pick() returns one, chosen by `policy`.
//   - PD (prefill/decode disaggregation): workers are `prefill` or `decode`; pick() returns a pair
//     (prefill by `prefill_policy`, decode by `decode_policy`), a bootstrap room unique among live
//     requests, and the prefill worker's bootstrap endpoint. Ready needs a healthy pair.
// With cache_aware_mode kv_events, every worker's SubscribeKvEvents stream feeds one KvEventIndex
// that the cache_aware policies (mixed, prefill and decode alike) route by.
//
// Threads: every public method is thread-safe. The health checker runs on its own thread, so
// blocking gRPC calls never run on the HTTP io threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/routing/kv_event_index.h"
#include "gateway/routing/pd_pairing.h"
#include "gateway/routing/policies/routing_policy.h"
#include "gateway/routing/worker_registry.h"
#include "gateway/server/gateway_config.h"
#include "gateway/server/model_context.h"

namespace tandem::gateway::client {
class WorkerClient;
}

namespace tandem::gateway::server {

class KvEventFeed;

class WorkerPool {
 public:
  // kInvalidArgument for an unknown routing policy or mode, or workers that do not fit the mode.
  static StatusOr<std::unique_ptr<WorkerPool>> create(const GatewayConfig& config);
  ~WorkerPool();  // stops the health checker

  // A PD pool takes prefill and decode workers (bootstrap_port: prefill only), a mixed pool
  // mixed ones; anything else is kInvalidArgument saying which mode the gateway runs in.
  Status add_worker(const std::string& url, routing::WorkerRole role = routing::WorkerRole::kMixed,
                    std::optional<uint16_t> bootstrap_port = std::nullopt);
  Status remove_worker(const std::string& url);
  std::vector<routing::WorkerSnapshot> workers() const;
  bool pd_mode() const { return config_.pd; }

  struct PrefillPick {
    std::string id;
    std::shared_ptr<client::WorkerClient> client;
    routing::InFlightTicket ticket;
    std::string bootstrap_host;
    uint16_t bootstrap_port = routing::kDefaultBootstrapPort;
  };
  struct Pick {
    // The worker whose stream the client reads: the mixed worker, or the decode worker in PD.
    std::string id;
    std::shared_ptr<client::WorkerClient> client;
    routing::InFlightTicket ticket;
    std::optional<PrefillPick> prefill;  // PD only
    routing::RoomLease room;             // PD only: held until the request ends
  };
  // A healthy worker (or pair) chosen by the policies, avoiding ids in `exclude` where another is
  // available; nullopt when no worker (or no pair) is healthy.
  std::optional<Pick> pick(const routing::RouteRequest& request, const std::set<std::string>& exclude);
  // Feeds the breakers: both workers of a pair get `success`, except that when prefill_failed
  // only the prefill worker is charged (the decode side only saw its peer go away).
  void record_result(const Pick& pick, bool success, bool prefill_failed = false);
  void record_result(const std::string& id, bool success);
  // Every healthy worker's client, any role (flush_cache fan-out).
  std::vector<std::shared_ptr<client::WorkerClient>> healthy_clients() const;

  // Starts health checks (first round right away). Call once.
  void start();
  void stop();

  bool ready() const { return registry_.ready_for(config_.pd) && model() != nullptr; }
  std::shared_ptr<const ModelContext> model() const;
  // The prefill worker's bootstrap port as configured or reported (PD metrics, /workers).
  std::optional<uint16_t> bootstrap_port(const std::string& id) const;
  // Exact KV-event knowledge of a worker (kv_events mode; zeros otherwise).
  routing::KvEventIndex::Stats kv_event_stats(const std::string& id) const;

 private:
  WorkerPool(const GatewayConfig& config, std::shared_ptr<routing::KvEventIndex> kv_index);
  std::optional<Pick> pick_mixed(const routing::RouteRequest& request, const std::set<std::string>& exclude);
  std::optional<Pick> pick_pair(const routing::RouteRequest& request, const std::set<std::string>& exclude);
  std::shared_ptr<client::WorkerClient> client_of(const std::string& id) const;
  void health_loop();
  void check_one(const std::string& id, const std::shared_ptr<client::WorkerClient>& client);
  void learn_bootstrap_port(const std::string& id, client::WorkerClient& client);

  const GatewayConfig config_;
  routing::WorkerRegistry registry_;
  const std::shared_ptr<routing::KvEventIndex> kv_index_;  // null unless kv_events mode
  std::unique_ptr<KvEventFeed> kv_feed_;                   // null unless kv_events mode
  std::unique_ptr<routing::RoutingPolicy> policy_;         // mixed mode; thread-safe itself
  std::unique_ptr<routing::PdPairPicker> pd_picker_;       // PD mode; thread-safe itself
  routing::BootstrapRooms rooms_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<client::WorkerClient>> clients_;  // guarded by mu_
  // Bootstrap ports: configured (add_worker) or reported by GetServerInfo.
  std::map<std::string, uint16_t> configured_bootstrap_;  // guarded by mu_
  std::map<std::string, uint16_t> reported_bootstrap_;    // guarded by mu_
  std::set<std::string> server_info_asked_;                // guarded by mu_
  std::shared_ptr<const ModelContext> model_;             // guarded by mu_
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool recheck_ = false;   // guarded by mu_: a worker was added
  std::thread health_thread_;
};

}  // namespace tandem::gateway::server
