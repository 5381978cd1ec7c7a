// GatewayApp: the gateway process — HTTP server, routes, admission control, the worker pool and
// metrics. Endpoints: POST /v1/chat/completions, /v1/completions, /generate; GET /v1/models,
// /health, /readiness, /metrics; admin GET|POST|DELETE /workers, POST /flush_cache.
//
// Threads: construct, start() and shutdown() from the main thread; handlers run on the io
// threads (one strand per connection).
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/metrics.h"
#include "common/status.h"
#include "gateway/http/http_server.h"
#include "gateway/server/gateway_config.h"
#include "gateway/server/worker_pool.h"

namespace tandem::gateway::server {

struct GatewayMetrics {
  explicit GatewayMetrics(MetricsRegistry& r);
  Counter& requests;        // {endpoint, code}
  Counter& retries;
  Counter& worker_requests;  // {worker}: attempts routed to each worker (retries included)
  Gauge& in_flight;
  Gauge& queued;
  Histogram& ttft;          // seconds
  Histogram& itl;           // seconds between streamed tokens
  Histogram& e2e;           // seconds
  Counter& prompt_tokens;
  Counter& completion_tokens;
  Gauge& worker_healthy;    // {worker}
  Gauge& worker_running;    // {worker}
  Gauge& worker_waiting;    // {worker}
  Gauge& worker_token_usage;  // {worker}
  // Prefill/decode disaggregation.
  Counter& pd_pairs;         // {prefill, decode}: requests (and retries) sent to each pair
  Counter& pd_prefill_failures;  // {worker}: calls that ended because the prefill side failed
  Gauge& workers_by_role;    // {role, state="healthy"|"total"}
  Gauge& worker_kv_transfer_speed;    // {worker}: GB/s the worker reports (GetLoads)
  Gauge& worker_kv_transfer_latency;  // {worker}: ms
  Gauge& worker_pd_queue;    // {worker, queue}: prefill_prealloc, prefill_inflight, decode_prealloc, decode_transfer
  Gauge& worker_kv_event_blocks;  // {worker}: blocks known from KV events (kv_events mode)

  // Counts one attempt: the worker (both workers of a pair) and the pair.
  void count_dispatch(const WorkerPool::Pick& pick);
};

class GatewayApp {
 public:
  static StatusOr<std::unique_ptr<GatewayApp>> create(GatewayConfig config);
  ~GatewayApp();

  // Binds the port and starts the io threads and the health checker.
  Status start();
  uint16_t port() const { return server_->port(); }
  // Graceful: stop admitting, let streams finish (up to the configured grace), stop. Idempotent.
  void shutdown();

  // For handlers (any io thread).
  const GatewayConfig& config() const { return config_; }
  WorkerPool& pool() { return *pool_; }
  GatewayMetrics& metrics() { return metrics_; }
  MetricsRegistry& registry() { return registry_; }
  std::atomic<int>& running() { return running_; }
  std::atomic<int>& waiting() { return waiting_; }

 private:
  GatewayApp(GatewayConfig config, std::unique_ptr<WorkerPool> pool);
  void add_routes();

  GatewayConfig config_;
  MetricsRegistry registry_;
  GatewayMetrics metrics_;
  std::unique_ptr<WorkerPool> pool_;
  boost::asio::io_context io_;
  std::unique_ptr<http::HttpServer> server_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
  std::atomic<int> waiting_{0};
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace tandem::gateway::server
