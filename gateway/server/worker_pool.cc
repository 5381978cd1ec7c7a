#include "gateway/server/worker_pool.h"

#include <future>

#include <spdlog/spdlog.h>
#include "gateway/client/worker_client.h"
#include "gateway/routing/policies/routing_policy.h"
#include "gateway/server/kv_event_feed.h"
#include "sglang_scheduler.pb.h"

namespace tandem::gateway::server {

namespace {

routing::RegistryConfig registry_config() {
  routing::RegistryConfig c;
  c.health.success_threshold = 1;  // serve as soon as one check passed
  return c;
}

StatusOr<std::unique_ptr<routing::RoutingPolicy>> make_policy(
    const std::string& name, routing::CacheAwareMode mode,
    const std::shared_ptr<routing::KvEventIndex>& index) {
  routing::PolicyConfig pc;
  pc.cache_aware_mode = mode;
  pc.kv_events = index;
  return routing::make_routing_policy(name, pc);
}

}  // namespace

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::create(const GatewayConfig& config) {
  ASSIGN_OR_RETURN(routing::CacheAwareMode mode, routing::parse_cache_aware_mode(config.cache_aware_mode));
  std::shared_ptr<routing::KvEventIndex> index;
  if (mode == routing::CacheAwareMode::kKvEvents) index = std::make_shared<routing::KvEventIndex>();
  const bool pd = config.pd || !config.prefill_workers.empty() || !config.decode_urls.empty();
  if (pd && !config.worker_urls.empty()) {
    return invalid_argument(
        "a PD gateway serves through prefill/decode pairs only, but {} mixed worker(s) were given "
        "(--worker-urls); give them as --prefill / --decode, or drop --pd",
        config.worker_urls.size());
  }
  GatewayConfig effective = config;
  effective.pd = pd;
  auto pool = std::unique_ptr<WorkerPool>(new WorkerPool(effective, index));
  if (pd) {
    ASSIGN_OR_RETURN(auto prefill, make_policy(config.prefill_policy, mode, index));
    ASSIGN_OR_RETURN(auto decode, make_policy(config.decode_policy, mode, index));
    pool->pd_picker_ = std::make_unique<routing::PdPairPicker>(std::move(prefill), std::move(decode));
    for (const PrefillWorkerConfig& p : config.prefill_workers) {
      RETURN_IF_ERROR(pool->add_worker(p.url, routing::WorkerRole::kPrefill, p.bootstrap_port));
    }
    for (const std::string& url : config.decode_urls) {
      RETURN_IF_ERROR(pool->add_worker(url, routing::WorkerRole::kDecode));
    }
  } else {
    ASSIGN_OR_RETURN(pool->policy_, make_policy(config.policy, mode, index));
    for (const std::string& url : config.worker_urls) RETURN_IF_ERROR(pool->add_worker(url));
  }
  return pool;
}

WorkerPool::WorkerPool(const GatewayConfig& config, std::shared_ptr<routing::KvEventIndex> kv_index)
    : config_(config), registry_(registry_config()), kv_index_(std::move(kv_index)) {
  if (kv_index_) kv_feed_ = std::make_unique<KvEventFeed>(kv_index_);
}

WorkerPool::~WorkerPool() { stop(); }

Status WorkerPool::add_worker(const std::string& url, routing::WorkerRole role,
                              std::optional<uint16_t> bootstrap_port) {
  if (url.empty() || url.find(':') == std::string::npos) {
    return invalid_argument("worker address '{}' must be host:port", url);
  }
  if (config_.pd && role == routing::WorkerRole::kMixed) {
    return invalid_argument("this gateway runs prefill/decode disaggregation (--pd) and serves "
                            "through pairs only; add '{}' with role prefill or decode",
                            url);
  }
  if (!config_.pd && role != routing::WorkerRole::kMixed) {
    return invalid_argument("worker '{}' has role {}, but this gateway serves mixed workers only; "
                            "start the gateway with --pd to route prefill/decode pairs",
                            url, routing::worker_role_name(role));
  }
  routing::WorkerSpec spec;
  spec.id = url;
  spec.url = url;
  spec.role = role;
  spec.bootstrap_port = bootstrap_port;
  RETURN_IF_ERROR(registry_.add(spec));
  {
    std::lock_guard<std::mutex> lock(mu_);
    clients_[url] = client::WorkerClient::connect(url);
    if (bootstrap_port) configured_bootstrap_[url] = *bootstrap_port;
    recheck_ = true;
  }
  wake_.notify_all();  // check the newcomer now
  return Status::Ok();
}

Status WorkerPool::remove_worker(const std::string& url) {
  RETURN_IF_ERROR(registry_.remove(url));
  if (policy_) policy_->on_worker_removed(url);
  if (pd_picker_) pd_picker_->on_worker_removed(url);
  if (kv_feed_) kv_feed_->drop(url);
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(url);
  configured_bootstrap_.erase(url);
  reported_bootstrap_.erase(url);
  server_info_asked_.erase(url);
  return Status::Ok();
}

std::vector<routing::WorkerSnapshot> WorkerPool::workers() const { return registry_.list(); }

std::shared_ptr<client::WorkerClient> WorkerPool::client_of(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : it->second;
}

std::optional<WorkerPool::Pick> WorkerPool::pick(const routing::RouteRequest& request,
                                                 const std::set<std::string>& exclude) {
  return config_.pd ? pick_pair(request, exclude) : pick_mixed(request, exclude);
}

std::optional<WorkerPool::Pick> WorkerPool::pick_mixed(const routing::RouteRequest& request,
                                                       const std::set<std::string>& exclude) {
  std::vector<routing::WorkerSnapshot> healthy = registry_.healthy(routing::WorkerRole::kMixed);
  if (healthy.empty()) return std::nullopt;
  const std::vector<routing::WorkerSnapshot> candidates = routing::prefer_untried(healthy, exclude);
  std::optional<size_t> i = policy_->select(candidates, request);
  if (!i || *i >= candidates.size()) return std::nullopt;
  Pick p;
  p.id = candidates[*i].id();
  p.client = client_of(p.id);
  if (!p.client) return std::nullopt;  // removed meanwhile
  auto ticket = registry_.begin_request(p.id);
  if (!ticket.ok()) return std::nullopt;
  p.ticket = std::move(ticket).value();
  policy_->on_request_routed(p.id, request.tokens);
  return p;
}

std::optional<WorkerPool::Pick> WorkerPool::pick_pair(const routing::RouteRequest& request,
                                                      const std::set<std::string>& exclude) {
  const auto prefill = routing::prefer_untried(registry_.healthy(routing::WorkerRole::kPrefill), exclude);
  const auto decode = routing::prefer_untried(registry_.healthy(routing::WorkerRole::kDecode), exclude);
  std::optional<routing::PdPair> pair = pd_picker_->select(prefill, decode, request);
  if (!pair) return std::nullopt;
  const routing::WorkerSnapshot& pw = prefill[pair->prefill];
  Pick p;
  p.id = decode[pair->decode].id();
  p.client = client_of(p.id);
  PrefillPick pp;
  pp.id = pw.id();
  pp.client = client_of(pp.id);
  if (!p.client || !pp.client) return std::nullopt;  // removed meanwhile
  auto dt = registry_.begin_request(p.id);
  auto pt = registry_.begin_request(pp.id);
  if (!dt.ok() || !pt.ok()) return std::nullopt;
  p.ticket = std::move(dt).value();
  pp.ticket = std::move(pt).value();
  pp.bootstrap_host = routing::bootstrap_host(pw.spec.url);
  std::optional<uint16_t> reported;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = reported_bootstrap_.find(pp.id); it != reported_bootstrap_.end()) reported = it->second;
  }
  pp.bootstrap_port = routing::resolve_bootstrap_port(pw.spec.bootstrap_port, reported);
  p.prefill = std::move(pp);
  p.room = rooms_.acquire();
  pd_picker_->on_request_routed(p.prefill->id, p.id, request.tokens);
  return p;
}

void WorkerPool::record_result(const Pick& pick, bool success, bool prefill_failed) {
  if (pick.prefill) {
    (void)registry_.record_request_result(pick.prefill->id, prefill_failed ? false : success);
    if (prefill_failed) return;
  }
  (void)registry_.record_request_result(pick.id, success);
}

void WorkerPool::record_result(const std::string& id, bool success) {
  (void)registry_.record_request_result(id, success);
}

std::vector<std::shared_ptr<client::WorkerClient>> WorkerPool::healthy_clients() const {
  std::vector<std::shared_ptr<client::WorkerClient>> out;
  std::vector<routing::WorkerSnapshot> healthy;
  for (auto role : {routing::WorkerRole::kMixed, routing::WorkerRole::kPrefill, routing::WorkerRole::kDecode}) {
    auto h = registry_.healthy(role);
    healthy.insert(healthy.end(), h.begin(), h.end());
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& w : healthy) {
    if (auto it = clients_.find(w.id()); it != clients_.end()) out.push_back(it->second);
  }
  return out;
}

std::shared_ptr<const ModelContext> WorkerPool::model() const {
  std::lock_guard<std::mutex> lock(mu_);
  return model_;
}

std::optional<uint16_t> WorkerPool::bootstrap_port(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = configured_bootstrap_.find(id); it != configured_bootstrap_.end()) return it->second;
  if (auto it = reported_bootstrap_.find(id); it != reported_bootstrap_.end()) return it->second;
  return std::nullopt;
}

routing::KvEventIndex::Stats WorkerPool::kv_event_stats(const std::string& id) const {
  return kv_index_ ? kv_index_->stats(id) : routing::KvEventIndex::Stats{};
}

void WorkerPool::start() {
  health_thread_ = std::thread([this] { health_loop(); });
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
  if (kv_feed_) kv_feed_->stop();
}

void WorkerPool::learn_bootstrap_port(const std::string& id, client::WorkerClient& client) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (configured_bootstrap_.count(id) || !server_info_asked_.insert(id).second) return;
  }
  auto info = client.get_server_info(config_.health_timeout).get();
  std::optional<uint16_t> port;
  if (info.ok()) {
    const auto& fields = info->server_args().fields();
    if (auto it = fields.find("disaggregation_bootstrap_port"); it != fields.end()) {
      if (it->second.has_number_value()) {
        port = routing::parse_port(std::to_string(static_cast<int64_t>(it->second.number_value())));
      } else if (it->second.has_string_value()) {
        port = routing::parse_port(it->second.string_value());
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!info.ok()) {
    server_info_asked_.erase(id);  // ask again next round
    return;
  }
  if (port) {
    reported_bootstrap_[id] = *port;
    spdlog::info("gateway: prefill worker {} reports bootstrap port {}", id, *port);
  } else {
    spdlog::warn("gateway: prefill worker {} reports no disaggregation_bootstrap_port; using {}", id,
                 routing::kDefaultBootstrapPort);
  }
}

void WorkerPool::check_one(const std::string& id,
                           const std::shared_ptr<client::WorkerClient>& client) {
  routing::HealthCheckResult result;
  auto health = client->health_check(config_.health_timeout).get();
  if (!health.ok()) {
    result.ok = false;
    result.detail = health.status().to_string();
  } else {
    result.ok = health->healthy();
    result.detail = health->message();
  }
  (void)registry_.mark_health(id, result);
  if (!result.ok) return;
  if (kv_feed_) kv_feed_->ensure(id, client);
  const auto snapshot = registry_.get(id);
  if (snapshot && snapshot->spec.role == routing::WorkerRole::kPrefill) learn_bootstrap_port(id, *client);
  auto loads = client->get_loads({"all"}, config_.health_timeout).get();
  if (loads.ok() && loads->loads_size() > 0) {
    routing::WorkerLoad l;
    for (const auto& s : loads->loads()) {
      l.running += s.num_running_reqs();
      l.waiting += s.num_waiting_reqs();
      l.used_tokens += s.num_used_tokens();
      l.total_tokens += s.max_total_num_tokens();
      l.cache_hit_rate = s.cache_hit_rate();
      if (s.has_disaggregation() && s.disaggregation().mode() != "null") {
        const auto& d = s.disaggregation();
        routing::DisaggLoad dl = l.disagg.value_or(routing::DisaggLoad{});
        dl.prefill_prealloc_queue += d.prefill_prealloc_queue_reqs();
        dl.prefill_inflight_queue += d.prefill_inflight_queue_reqs();
        dl.decode_prealloc_queue += d.decode_prealloc_queue_reqs();
        dl.decode_transfer_queue += d.decode_transfer_queue_reqs();
        dl.kv_transfer_speed_gb_s = d.kv_transfer_speed_gb_s();
        dl.kv_transfer_latency_ms = d.kv_transfer_latency_ms();
        l.disagg = dl;
      }
    }
    (void)registry_.update_load(id, l);
  }
  if (model() == nullptr) {
    auto ctx = fetch_model_context(*client, config_.tool_call_parser, config_.reasoning_parser);
    if (!ctx.ok()) {
      spdlog::warn("gateway: cannot load the model's tokenizer from worker {}: {}", id,
                ctx.status().to_string());
      return;
    }
    spdlog::info("gateway: serving model '{}' (context {} tokens) from worker {}",
              (*ctx)->served_model_name, (*ctx)->max_context_len, id);
    std::lock_guard<std::mutex> lock(mu_);
    if (model_ == nullptr) model_ = std::move(ctx).value();
  }
}

void WorkerPool::health_loop() {
  while (true) {
    std::map<std::string, std::shared_ptr<client::WorkerClient>> clients;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      clients = clients_;
    }
    // Workers are checked in parallel so one slow worker does not delay the others.
    std::vector<std::future<void>> checks;
    for (const auto& [id, c] : clients) {
      checks.push_back(std::async(std::launch::async, [this, id = id, c = c] { check_one(id, c); }));
    }
    for (auto& f : checks) f.wait();
    std::unique_lock<std::mutex> lock(mu_);
    // Until a model context exists, poll fast so the gateway becomes ready quickly.
    const auto interval = model_ ? config_.health_interval : std::chrono::milliseconds(200);
    wake_.wait_for(lock, interval, [&] { return stopping_ || recheck_; });
    recheck_ = false;
    if (stopping_) return;
  }
}

}  // namespace tandem::gateway::server
