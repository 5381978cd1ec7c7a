#include "gateway/server/gateway_app.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "gateway/client/worker_client.h"
#include "gateway/server/admin_handlers.h"
#include "gateway/server/generation_handler.h"

namespace tandem::gateway::server {

namespace asio = boost::asio;

GatewayMetrics::GatewayMetrics(MetricsRegistry& r)
    : requests(r.counter("tandem_gateway_requests_total", "Requests by endpoint and HTTP status",
                         {"endpoint", "code"})),
      retries(r.counter("tandem_gateway_retries_total",
                        "Requests re-sent to another worker before their first token")),
      worker_requests(r.counter("tandem_gateway_worker_requests_total",
                                "Requests (and retries) the router sent to each worker", {"worker"})),
      in_flight(r.gauge("tandem_gateway_in_flight_requests", "Requests being served now")),
      queued(r.gauge("tandem_gateway_queued_requests", "Requests waiting for a slot")),
      ttft(r.histogram("tandem_gateway_time_to_first_token_seconds", "Time to first token",
                       Histogram::exponential_buckets(0.005, 2, 14))),
      itl(r.histogram("tandem_gateway_inter_token_latency_seconds", "Time between streamed tokens",
                      Histogram::exponential_buckets(0.001, 2, 14))),
      e2e(r.histogram("tandem_gateway_e2e_request_latency_seconds", "Request latency, end to end",
                      Histogram::exponential_buckets(0.01, 2, 14))),
      prompt_tokens(r.counter("tandem_gateway_prompt_tokens_total", "Prompt tokens sent to workers")),
      completion_tokens(r.counter("tandem_gateway_completion_tokens_total", "Tokens generated")),
      worker_healthy(r.gauge("tandem_worker_healthy", "1 when the worker passes health checks",
                             {"worker"})),
      worker_running(r.gauge("tandem_worker_running_requests", "Running requests (GetLoads)",
                             {"worker"})),
      worker_waiting(r.gauge("tandem_worker_waiting_requests", "Waiting requests (GetLoads)",
                             {"worker"})),
      worker_token_usage(r.gauge("tandem_worker_token_usage", "Used / total KV tokens",
                                 {"worker"})),
      pd_pairs(r.counter("tandem_gateway_pd_pairs_total",
                         "Requests (and retries) sent to each prefill/decode pair", {"prefill", "decode"})),
      pd_prefill_failures(r.counter("tandem_gateway_pd_prefill_failures_total",
                                    "PD calls that ended because the prefill worker failed", {"worker"})),
      workers_by_role(r.gauge("tandem_gateway_workers", "Workers by role; state healthy or total",
                              {"role", "state"})),
      worker_kv_transfer_speed(r.gauge("tandem_worker_kv_transfer_speed_gb_s",
                                       "KV transfer speed the worker reports (GetLoads)", {"worker"})),
      worker_kv_transfer_latency(r.gauge("tandem_worker_kv_transfer_latency_ms",
                                         "KV transfer latency the worker reports (GetLoads)", {"worker"})),
      worker_pd_queue(r.gauge("tandem_worker_pd_queue_requests",
                              "Requests in the worker's PD queues (GetLoads)", {"worker", "queue"})),
      worker_kv_event_blocks(r.gauge("tandem_worker_kv_event_blocks",
                                     "KV blocks the gateway knows the worker holds (kv_events mode)",
                                     {"worker"})) {}

void GatewayMetrics::count_dispatch(const WorkerPool::Pick& pick) {
  worker_requests.with_labels({pick.id}).inc();
  if (pick.prefill) {
    worker_requests.with_labels({pick.prefill->id}).inc();
    pd_pairs.with_labels({pick.prefill->id, pick.id}).inc();
  }
}

StatusOr<std::unique_ptr<GatewayApp>> GatewayApp::create(GatewayConfig config) {
  RETURN_IF_ERROR(routing::validate(config.retry));
  ASSIGN_OR_RETURN(std::unique_ptr<WorkerPool> pool, WorkerPool::create(config));
  return std::unique_ptr<GatewayApp>(new GatewayApp(std::move(config), std::move(pool)));
}

GatewayApp::GatewayApp(GatewayConfig config, std::unique_ptr<WorkerPool> pool)
    : config_(std::move(config)), metrics_(registry_), pool_(std::move(pool)) {
  http::ServerConfig sc;
  sc.host = config_.host;
  sc.port = config_.port;
  sc.max_body_bytes = config_.max_body_bytes;
  server_ = std::make_unique<http::HttpServer>(io_, sc);
  add_routes();
}

GatewayApp::~GatewayApp() { shutdown(); }

void GatewayApp::add_routes() {
  auto generation = [this](ApiKind kind) {
    return [this, kind](http::HttpRequest& req, http::ResponseWriter& w) -> asio::awaitable<void> {
      if (auto e = check_api_key(*this, req, /*admin=*/false)) {
        co_await w.send_error(*e);
        co_return;
      }
      co_await handle_generation(*this, req, w, kind);
    };
  };
  server_->route("POST", "/v1/chat/completions", generation(ApiKind::kChat));
  server_->route("POST", "/v1/completions", generation(ApiKind::kCompletion));
  server_->route("POST", "/generate", generation(ApiKind::kGenerate));
  add_admin_routes(*this, *server_);
}

Status GatewayApp::start() {
  RETURN_IF_ERROR(server_->start());
  pool_->start();
  started_ = true;
  for (int i = 0; i < std::max(1, config_.io_threads); ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  return Status::Ok();
}

void GatewayApp::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (started_) server_->shutdown(config_.shutdown_grace);
  pool_->stop();
  io_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace tandem::gateway::server
