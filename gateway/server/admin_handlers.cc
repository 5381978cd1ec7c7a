#include "gateway/server/admin_handlers.h"

#include <future>

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

boost::json::object worker_json(const routing::WorkerSnapshot& w) {
  return {{"id", w.id()},
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
}

std::string url_from(const HttpRequest& req) {
  // POST/DELETE body {"url": "host:port"}, or DELETE /workers?url=host:port.
  if (req.query.rfind("url=", 0) == 0) return req.query.substr(4);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec);
  if (ec || !v.is_object()) return {};
  const boost::json::value* u = v.as_object().if_contains("url");
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
  for (const auto& wk : app.pool().workers()) list.push_back(worker_json(wk));
  return {200, boost::json::serialize(boost::json::object{{"workers", list}})};
}

Reply add_worker_reply(GatewayApp& app, const HttpRequest& req) {
  const std::string url = url_from(req);
  if (url.empty()) return error_reply(openai::missing_field_error("url"));
  Status st = app.pool().add_worker(url);
  if (!st.ok()) {
    openai::ApiError e = openai::invalid_value_error("url", st.message());
    if (st.code() == StatusCode::kAlreadyExists) e.http_status = 409;
    return error_reply(e);
  }
  return {200, boost::json::serialize(boost::json::object{{"added", url}})};
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
    const bool ready = app.pool().ready();
    int healthy = 0;
    for (const auto& wk : app.pool().workers()) healthy += wk.health.healthy ? 1 : 0;
    boost::json::object body{{"ready", ready}, {"healthy_workers", healthy},
                             {"model_loaded", app.pool().model() != nullptr}};
    co_await w.send_json(ready ? 200 : 503, boost::json::serialize(body));
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
    GatewayMetrics& m = app.metrics();
    for (const auto& wk : app.pool().workers()) {
      m.worker_healthy.with_labels({wk.id()}).set(wk.health.healthy ? 1 : 0);
      m.worker_running.with_labels({wk.id()}).set(wk.load.running);
      m.worker_waiting.with_labels({wk.id()}).set(wk.load.waiting);
      m.worker_token_usage.with_labels({wk.id()})
          .set(wk.load.total_tokens > 0 ? double(wk.load.used_tokens) / wk.load.total_tokens : 0.0);
    }
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
