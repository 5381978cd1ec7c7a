// WorkerPool: the gateway's workers — the registry (health, circuit breakers, load), one gRPC
// client per worker, the routing policy, the background health checker, and the served model's
// context (fetched from the first worker that answers).
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

#include "gateway/routing/policies/routing_policy.h"
#include "gateway/routing/worker_registry.h"
#include "gateway/server/gateway_config.h"
#include "gateway/server/model_context.h"

namespace tandem::gateway::client {
class WorkerClient;
}

namespace tandem::gateway::server {

class WorkerPool {
 public:
  // kInvalidArgument for an unknown routing policy.
  static StatusOr<std::unique_ptr<WorkerPool>> create(const GatewayConfig& config);
  ~WorkerPool();  // stops the health checker

  Status add_worker(const std::string& url);
  Status remove_worker(const std::string& url);
  std::vector<routing::WorkerSnapshot> workers() const;

  struct Pick {
    std::string id;
    std::shared_ptr<client::WorkerClient> client;
    routing::InFlightTicket ticket;
  };
  // A healthy worker chosen by the policy, avoiding `exclude` when another is available;
  // nullopt when no worker is healthy.
  std::optional<Pick> pick(const routing::RouteRequest& request,
                           const std::set<std::string>& exclude);
  void record_result(const std::string& id, bool success);
  // Every healthy worker's client (flush_cache fan-out).
  std::vector<std::shared_ptr<client::WorkerClient>> healthy_clients() const;

  // Starts health checks (first round right away). Call once.
  void start();
  void stop();

  bool ready() const { return registry_.ready() && model() != nullptr; }
  std::shared_ptr<const ModelContext> model() const;

 private:
  WorkerPool(const GatewayConfig& config, std::unique_ptr<routing::RoutingPolicy> policy);
  void health_loop();
  void check_one(const std::string& id, const std::shared_ptr<client::WorkerClient>& client);

  const GatewayConfig config_;
  routing::WorkerRegistry registry_;
  std::unique_ptr<routing::RoutingPolicy> policy_;  // thread-safe itself
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<client::WorkerClient>> clients_;  // guarded by mu_
  std::shared_ptr<const ModelContext> model_;                             // guarded by mu_
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  bool recheck_ = false;   // guarded by mu_: a worker was added
  std::thread health_thread_;
};

}  // namespace tandem::gateway::server
