#include "gateway/server/worker_pool.h"

#include <future>

#include <spdlog/spdlog.h>
#include "gateway/client/worker_client.h"
#include "gateway/routing/policies/routing_policy.h"
#include "sglang_scheduler.pb.h"

namespace tandem::gateway::server {

StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::create(const GatewayConfig& config) {
  routing::PolicyConfig pc;
  ASSIGN_OR_RETURN(std::unique_ptr<routing::RoutingPolicy> policy,
                   routing::make_routing_policy(config.policy, pc));
  auto pool = std::unique_ptr<WorkerPool>(new WorkerPool(config, std::move(policy)));
  for (const std::string& url : config.worker_urls) RETURN_IF_ERROR(pool->add_worker(url));
  return pool;
}

namespace {
routing::RegistryConfig registry_config() {
  routing::RegistryConfig c;
  c.health.success_threshold = 1;  // serve as soon as one check passed
  return c;
}
}  // namespace

WorkerPool::WorkerPool(const GatewayConfig& config, std::unique_ptr<routing::RoutingPolicy> policy)
    : config_(config), registry_(registry_config()), policy_(std::move(policy)) {}

WorkerPool::~WorkerPool() { stop(); }

Status WorkerPool::add_worker(const std::string& url) {
  if (url.empty() || url.find(':') == std::string::npos) {
    return invalid_argument("worker address '{}' must be host:port", url);
  }
  routing::WorkerSpec spec;
  spec.id = url;
  spec.url = url;
  RETURN_IF_ERROR(registry_.add(spec));
  {
    std::lock_guard<std::mutex> lock(mu_);
    clients_[url] = client::WorkerClient::connect(url);
    recheck_ = true;
  }
  wake_.notify_all();  // check the newcomer now
  return Status::Ok();
}

Status WorkerPool::remove_worker(const std::string& url) {
  RETURN_IF_ERROR(registry_.remove(url));
  policy_->on_worker_removed(url);
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(url);
  return Status::Ok();
}

std::vector<routing::WorkerSnapshot> WorkerPool::workers() const { return registry_.list(); }

std::optional<WorkerPool::Pick> WorkerPool::pick(const routing::RouteRequest& request,
                                                 const std::set<std::string>& exclude) {
  std::vector<routing::WorkerSnapshot> healthy = registry_.healthy(routing::WorkerRole::kMixed);
  if (healthy.empty()) return std::nullopt;
  std::vector<routing::WorkerSnapshot> fresh;
  for (const auto& w : healthy) {
    if (!exclude.count(w.id())) fresh.push_back(w);
  }
  const std::vector<routing::WorkerSnapshot>& candidates = fresh.empty() ? healthy : fresh;
  std::optional<size_t> i = policy_->select(candidates, request);
  if (!i || *i >= candidates.size()) return std::nullopt;
  Pick p;
  p.id = candidates[*i].id();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = clients_.find(p.id);
    if (it == clients_.end()) return std::nullopt;  // removed meanwhile
    p.client = it->second;
  }
  auto ticket = registry_.begin_request(p.id);
  if (!ticket.ok()) return std::nullopt;
  p.ticket = std::move(ticket).value();
  policy_->on_request_routed(p.id, request.tokens);
  return p;
}

void WorkerPool::record_result(const std::string& id, bool success) {
  (void)registry_.record_request_result(id, success);
}

std::vector<std::shared_ptr<client::WorkerClient>> WorkerPool::healthy_clients() const {
  std::vector<std::shared_ptr<client::WorkerClient>> out;
  const auto healthy = registry_.healthy(routing::WorkerRole::kMixed);
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
  auto loads = client->get_loads({}, config_.health_timeout).get();
  if (loads.ok() && loads->loads_size() > 0) {
    routing::WorkerLoad l;
    for (const auto& s : loads->loads()) {
      l.running += s.num_running_reqs();
      l.waiting += s.num_waiting_reqs();
      l.used_tokens += s.num_used_tokens();
      l.total_tokens += s.max_total_num_tokens();
      l.cache_hit_rate = s.cache_hit_rate();
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
