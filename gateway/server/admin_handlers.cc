#include "gateway/server/admin_handlers.h"

#include <future>
#include <map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "common.pb.h"
#include "gateway/client/worker_client.h"
#include "gateway/openai/respond.h"
#include "gateway/server/gateway_app.h"

namespace tandem::gateway::server {

namespace asio = boost::asio;
using http::HttpRequest;
using http::ResponseWriter;

namespace {

// Constant-time comparison, so the key cannot be guessed byte by byte from response timings.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Awaits a blocking job run on its own thread without blocking the io thread.
template <typename T>
asio::awaitable<T> off_loop(std::function<T()> job) {
  std::future<T> f = std::async(std::launch::async, std::move(job));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return f.get();
}

boost::json::object worker_json(GatewayApp& app, const routing::WorkerSnapshot& w) {
  boost::json::object o{{"id", w.id()},
                        {"url", w.spec.url},
                        {"role", routing::worker_role_name(w.spec.role)},
                        {"healthy", w.health.healthy},
                        {"circuit_breaker", routing::breaker_state_name(w.breaker)},
                        {"in_flight", w.in_flight},
                        {"running", w.load.running},
                        {"waiting", w.load.waiting},
                        {"used_tokens", w.load.used_tokens},
                        {"total_tokens", w.load.total_tokens},
                        {"cache_hit_rate", w.load.cache_hit_rate}};
  if (w.spec.role == routing::WorkerRole::kPrefill) {
    auto port = app.pool().bootstrap_port(w.id());
    o["bootstrap_port"] = port ? boost::json::value(*port) : boost::json::value(nullptr);
  }
  if (w.load.disagg) {
    const routing::DisaggLoad& d = *w.load.disagg;
    o["disaggregation"] = boost::json::object{{"prefill_prealloc_queue", d.prefill_prealloc_queue},
                                              {"prefill_inflight_queue", d.prefill_inflight_queue},
                                              {"decode_prealloc_queue", d.decode_prealloc_queue},
                                              {"decode_transfer_queue", d.decode_transfer_queue},
                                              {"kv_transfer_speed_gb_s", d.kv_transfer_speed_gb_s},
                                              {"kv_transfer_latency_ms", d.kv_transfer_latency_ms}};
  }
  if (app.config().cache_aware_mode == "kv_events") {
    o["kv_event_blocks"] = app.pool().kv_event_stats(w.id()).blocks;
  }
  return o;
}

// The JSON body of POST/DELETE /workers (an empty object when there is none or it is not JSON).
boost::json::object body_object(const HttpRequest& req) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

std::string url_from(const HttpRequest& req) {
  // POST/DELETE body {"url": "host:port"}, or DELETE /workers?url=host:port.
  if (req.query.rfind("url=", 0) == 0) return req.query.substr(4);
  const boost::json::object body = body_object(req);
  const boost::json::value* u = body.if_contains("url");
  return u && u->is_string() ? std::string(u->as_string()) : std::string();
}

struct Reply {
  int status = 200;
  std::string body;
};

Reply error_reply(openai::ApiError e) { return {e.http_status, e.to_json()}; }

// The admin bodies are plain functions: GCC 12 miscompiles some initializers inside coroutine
// lambdas ("array used as initializer"), and these need no awaiting anyway.
Reply list_workers_reply(GatewayApp& app, const HttpRequest&) {
  boost::json::array list;
  for (const auto& wk : app.pool().workers()) list.push_back(worker_json(app, wk));
  return {200, boost::json::serialize(boost::json::object{{"workers", list}})};
}

Reply add_worker_reply(GatewayApp& app, const HttpRequest& req) {
  const std::string url = url_from(req);
  if (url.empty()) return error_reply(openai::missing_field_error("url"));
  // PD gateways: {"url": ..., "role": "prefill", "bootstrap_port": 8998} or {"role": "decode"}.
  const boost::json::object body = body_object(req);
  routing::WorkerRole role = routing::WorkerRole::kMixed;
  if (const boost::json::value* r = body.if_contains("role")) {
    if (!r->is_string()) return error_reply(openai::invalid_value_error("role", "'role' must be a string"));
    auto parsed = routing::parse_worker_role(std::string(r->as_string()));
    if (!parsed.ok()) return error_reply(openai::invalid_value_error("role", parsed.status().message()));
    role = *parsed;
  } else if (app.pool().pd_mode()) {
    return error_reply(openai::invalid_value_error(
        "role", "this gateway routes prefill/decode pairs: give 'role': 'prefill' or 'decode'"));
  }
  std::optional<uint16_t> bootstrap_port;
  if (const boost::json::value* b = body.if_contains("bootstrap_port"); b && !b->is_null()) {
    if (!b->is_int64() || b->as_int64() < 1 || b->as_int64() > 65535) {
      return error_reply(openai::invalid_value_error(
          "bootstrap_port", "'bootstrap_port' must be an integer port from 1 to 65535"));
    }
    bootstrap_port = static_cast<uint16_t>(b->as_int64());
  }
  Status st = app.pool().add_worker(url, role, bootstrap_port);
  if (!st.ok()) {
    openai::ApiError e = openai::invalid_value_error("url", st.message());
    if (st.code() == StatusCode::kAlreadyExists) e.http_status = 409;
    return error_reply(e);
  }
  return {200, boost::json::serialize(
                   boost::json::object{{"added", url}, {"role", routing::worker_role_name(role)}})};
}

Reply remove_worker_reply(GatewayApp& app, const HttpRequest& req) {
  const std::string url = url_from(req);
  if (url.empty()) return error_reply(openai::missing_field_error("url"));
  Status st = app.pool().remove_worker(url);
  if (!st.ok()) {
    openai::ApiError e = openai::invalid_value_error("url", st.message());
    if (st.code() == StatusCode::kNotFound) e.http_status = 404;
    return error_reply(e);
  }
  return {200, boost::json::serialize(boost::json::object{{"removed", url}})};
}

Reply readiness_reply(GatewayApp& app) {
  const bool ready = app.pool().ready();
  int healthy = 0, prefill = 0, decode = 0;
  for (const auto& wk : app.pool().workers()) {
    if (!wk.health.healthy) continue;
    ++healthy;
    prefill += wk.spec.role == routing::WorkerRole::kPrefill ? 1 : 0;
    decode += wk.spec.role == routing::WorkerRole::kDecode ? 1 : 0;
  }
  boost::json::object body{{"ready", ready}, {"healthy_workers", healthy},
                           {"model_loaded", app.pool().model() != nullptr}};
  if (app.pool().pd_mode()) {
    // ACCEPTANCE 16: a PD gateway needs a pair.
    body["mode"] = "pd";
    body["healthy_prefill_workers"] = prefill;
    body["healthy_decode_workers"] = decode;
  }
  return {ready ? 200 : 503, boost::json::serialize(body)};
}

// Worker gauges are set from the registry when /metrics is scraped.
void refresh_worker_metrics(GatewayApp& app) {
  GatewayMetrics& m = app.metrics();
  std::map<std::string, std::pair<int, int>> by_role;  // role -> {healthy, total}
  for (auto role : {routing::WorkerRole::kMixed, routing::WorkerRole::kPrefill, routing::WorkerRole::kDecode}) {
    by_role[std::string(routing::worker_role_name(role))] = {0, 0};
  }
  const bool kv_events = app.config().cache_aware_mode == "kv_events";
  for (const auto& wk : app.pool().workers()) {
    auto& [healthy, total] = by_role[std::string(routing::worker_role_name(wk.spec.role))];
    healthy += wk.health.healthy ? 1 : 0;
    ++total;
    m.worker_healthy.with_labels({wk.id()}).set(wk.health.healthy ? 1 : 0);
    m.worker_running.with_labels({wk.id()}).set(double(wk.load.running));
    m.worker_waiting.with_labels({wk.id()}).set(double(wk.load.waiting));
    m.worker_token_usage.with_labels({wk.id()})
        .set(wk.load.total_tokens > 0 ? double(wk.load.used_tokens) / double(wk.load.total_tokens) : 0.0);
    if (wk.load.disagg) {
      const routing::DisaggLoad& d = *wk.load.disagg;
      m.worker_kv_transfer_speed.with_labels({wk.id()}).set(d.kv_transfer_speed_gb_s);
      m.worker_kv_transfer_latency.with_labels({wk.id()}).set(d.kv_transfer_latency_ms);
      m.worker_pd_queue.with_labels({wk.id(), "prefill_prealloc"}).set(double(d.prefill_prealloc_queue));
      m.worker_pd_queue.with_labels({wk.id(), "prefill_inflight"}).set(double(d.prefill_inflight_queue));
      m.worker_pd_queue.with_labels({wk.id(), "decode_prealloc"}).set(double(d.decode_prealloc_queue));
      m.worker_pd_queue.with_labels({wk.id(), "decode_transfer"}).set(double(d.decode_transfer_queue));
    }
    if (kv_events) {
      m.worker_kv_event_blocks.with_labels({wk.id()}).set(double(app.pool().kv_event_stats(wk.id()).blocks));
    }
  }
  for (const auto& [role, counts] : by_role) {
    m.workers_by_role.with_labels({role, "healthy"}).set(counts.first);
    m.workers_by_role.with_labels({role, "total"}).set(counts.second);
  }
}

std::string flush_all(const std::vector<std::shared_ptr<client::WorkerClient>>& clients) {
  boost::json::array results;
  bool all = true;
  for (const auto& c : clients) {
    auto r = c->flush_cache().get();
    const bool ok = r.ok() && r->success();
    all = all && ok;
    results.push_back(boost::json::object{
        {"success", ok}, {"message", r.ok() ? r->message() : r.status().to_string()}});
  }
  return boost::json::serialize(boost::json::object{{"success", all}, {"workers", results}});
}

asio::awaitable<void> flush_route(GatewayApp& app, ResponseWriter& w) {
  std::function<std::string()> job = [clients = app.pool().healthy_clients()] {
    return flush_all(clients);
  };
  std::string body = co_await off_loop<std::string>(std::move(job));
  co_await w.send_json(200, std::move(body));
}

}  // namespace

std::optional<openai::ApiError> check_api_key(const GatewayApp& app, const HttpRequest& req,
                                              bool admin) {
  const GatewayConfig& c = app.config();
  const std::string& key = admin && !c.admin_key.empty() ? c.admin_key : c.api_key;
  if (key.empty()) return std::nullopt;
  const std::string& auth = req.header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.rfind(kBearer, 0) == 0 && same_secret(std::string_view(auth).substr(kBearer.size()), key)) {
    return std::nullopt;
  }
  return openai::unauthorized_error(admin ? "this endpoint needs the admin key as "
                                            "'Authorization: Bearer <key>'"
                                          : "missing or wrong API key; send 'Authorization: "
                                            "Bearer <key>'");
}

void add_admin_routes(GatewayApp& app, http::HttpServer& server) {
  server.route("GET", "/health", [&app](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    co_await w.send_json(200, R"({"status":"ok"})");
  });
  server.route("GET", "/readiness", [&app](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    Reply r = readiness_reply(app);
    co_await w.send_json(r.status, std::move(r.body));
  });
  server.route("GET", "/v1/models", [&app](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
    if (auto e = check_api_key(app, req, false)) {
      co_await w.send_error(*e);
      co_return;
    }
    std::vector<openai::ModelCard> cards;
    if (auto m = app.pool().model()) {
      openai::ModelCard card;
      card.id = m->served_model_name;
      card.created = openai::unix_seconds_now();
      card.max_model_len = m->max_context_len;
      cards.push_back(card);
    }
    co_await w.send_json(200, openai::models_list_json(cards));
  });
  server.route("GET", "/metrics", [&app](HttpRequest&, ResponseWriter& w) -> asio::awaitable<void> {
    refresh_worker_metrics(app);
    co_await w.send(200, MetricsRegistry::kContentType, app.registry().render());
  });

  // Admin routes: the handlers are plain functions returning a Reply (see Reply above).
  auto admin = [&app](Reply (*fn)(GatewayApp&, const HttpRequest&)) {
    return [&app, fn](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
      std::optional<openai::ApiError> denied = check_api_key(app, req, true);
      Reply r = denied ? error_reply(*denied) : fn(app, req);
      co_await w.send_json(r.status, std::move(r.body));
    };
  };
  server.route("GET", "/workers", admin(&list_workers_reply));
  server.route("POST", "/workers", admin(&add_worker_reply));
  server.route("DELETE", "/workers", admin(&remove_worker_reply));
  server.route("POST", "/flush_cache", [&app](HttpRequest& req, ResponseWriter& w) -> asio::awaitable<void> {
    if (std::optional<openai::ApiError> denied = check_api_key(app, req, true)) {
      co_await w.send_error(*denied);
      co_return;
    }
    co_await flush_route(app, w);
  });
}

}  // namespace tandem::gateway::server
