#include "gateway/routing/worker_registry.h"

#include <spdlog/spdlog.h>

namespace tandem::gateway::routing {

namespace detail {
struct WorkerEntry {
  WorkerEntry(WorkerSpec s, CircuitBreakerConfig breaker_config, bool healthy)
      : spec(std::move(s)), breaker(breaker_config) {
    health.healthy = healthy;
  }
  const WorkerSpec spec;
  WorkerLoad load;      // guarded by WorkerRegistry::mu_
  WorkerHealth health;  // guarded by WorkerRegistry::mu_
  std::atomic<int64_t> in_flight{0};
  mutable CircuitBreaker breaker;  // has its own lock; state() advances time even on reads
};
}  // namespace detail

using detail::WorkerEntry;

InFlightTicket::InFlightTicket(std::shared_ptr<WorkerEntry> entry) : entry_(std::move(entry)) {
  if (entry_) entry_->in_flight.fetch_add(1, std::memory_order_relaxed);
}
InFlightTicket::InFlightTicket(InFlightTicket&& other) noexcept : entry_(std::move(other.entry_)) {}
InFlightTicket& InFlightTicket::operator=(InFlightTicket&& other) noexcept {
  if (this != &other) {
    release();
    entry_ = std::move(other.entry_);
  }
  return *this;
}
InFlightTicket::~InFlightTicket() { release(); }
void InFlightTicket::release() {
  if (entry_) {
    entry_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    entry_.reset();
  }
}

WorkerRegistry::WorkerRegistry(RegistryConfig config) : config_(std::move(config)) {}
WorkerRegistry::~WorkerRegistry() = default;

Status WorkerRegistry::add(WorkerSpec spec) {
  if (spec.url.empty()) return invalid_argument("worker '{}' has no url: give host:port", spec.id);
  if (spec.id.empty()) spec.id = spec.url;
  if (spec.bootstrap_port && spec.role != WorkerRole::kPrefill) {
    return invalid_argument("worker '{}' is {} but has a bootstrap port; only prefill workers take one",
                            spec.id, worker_role_name(spec.role));
  }
  std::lock_guard lock(mu_);
  if (workers_.count(spec.id)) {
    return make_status(StatusCode::kAlreadyExists,
                       "worker '{}' is already registered; remove it first to change its settings",
                       spec.id);
  }
  std::string id = spec.id;
  workers_.emplace(std::move(id), std::make_shared<WorkerEntry>(std::move(spec), config_.breaker,
                                                                config_.health.initially_healthy));
  return Status::Ok();
}

Status WorkerRegistry::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return not_found("no worker '{}' to remove", id);
  workers_.erase(it);
  return Status::Ok();
}

WorkerSnapshot WorkerRegistry::snapshot_locked(const WorkerEntry& entry, TimePoint now) const {
  WorkerSnapshot s;
  s.spec = entry.spec;
  s.load = entry.load;
  s.health = entry.health;
  s.breaker = entry.breaker.state(now);
  s.in_flight = entry.in_flight.load(std::memory_order_relaxed);
  return s;
}

std::optional<WorkerSnapshot> WorkerRegistry::get(std::string_view id) const {
  TimePoint now = config_.clock();
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return std::nullopt;
  return snapshot_locked(*it->second, now);
}

std::vector<WorkerSnapshot> WorkerRegistry::list() const {
  TimePoint now = config_.clock();
  std::lock_guard lock(mu_);
  std::vector<WorkerSnapshot> out;
  out.reserve(workers_.size());
  for (const auto& [id, entry] : workers_) out.push_back(snapshot_locked(*entry, now));
  return out;
}

std::vector<WorkerSnapshot> WorkerRegistry::healthy(WorkerRole role) const {
  TimePoint now = config_.clock();
  std::lock_guard lock(mu_);
  std::vector<WorkerSnapshot> out;
  for (const auto& [id, entry] : workers_) {
    if (entry->spec.role != role || !entry->health.healthy) continue;
    if (!entry->breaker.allow_request(now)) continue;
    out.push_back(snapshot_locked(*entry, now));
  }
  return out;
}

size_t WorkerRegistry::size() const {
  std::lock_guard lock(mu_);
  return workers_.size();
}

namespace {
struct HealthyRoles {
  bool mixed = false, prefill = false, decode = false;
};
}  // namespace

bool WorkerRegistry::ready() const { return ready_for(false) || ready_for(true); }

bool WorkerRegistry::ready_for(bool pd_mode) const {
  HealthyRoles h;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : workers_) {
      if (!entry->health.healthy) continue;
      h.mixed |= entry->spec.role == WorkerRole::kMixed;
      h.prefill |= entry->spec.role == WorkerRole::kPrefill;
      h.decode |= entry->spec.role == WorkerRole::kDecode;
    }
  }
  return pd_mode ? (h.prefill && h.decode) : h.mixed;
}

Status WorkerRegistry::update_load(std::string_view id, const WorkerLoad& load) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return not_found("load report for unknown worker '{}'", id);
  it->second->load = load;
  return Status::Ok();
}

Status WorkerRegistry::mark_health(std::string_view id, const HealthCheckResult& result) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return not_found("health result for unknown worker '{}'", id);
  WorkerEntry& e = *it->second;
  WorkerHealth& h = e.health;
  if (result.ok) {
    h.consecutive_failures = 0;
    ++h.consecutive_successes;
    if (!h.healthy && h.consecutive_successes >= config_.health.success_threshold) {
      h.healthy = true;
      spdlog::info("worker {} ({}) is healthy after {} passing health checks", e.spec.id,
                   e.spec.url, h.consecutive_successes);
    }
    return Status::Ok();
  }
  h.consecutive_successes = 0;
  ++h.consecutive_failures;
  if (result.http_status != 0) {
    spdlog::warn("health check of worker {} at {} returned HTTP {} ({} in a row){}{}", e.spec.id,
                 e.spec.url, result.http_status, h.consecutive_failures,
                 result.detail.empty() ? "" : ": ", result.detail);
  } else {
    spdlog::warn("health check of worker {} at {} failed ({} in a row){}{}", e.spec.id, e.spec.url,
                 h.consecutive_failures, result.detail.empty() ? "" : ": ", result.detail);
  }
  if (h.healthy && h.consecutive_failures >= config_.health.failure_threshold) {
    h.healthy = false;
    spdlog::warn("worker {} at {} marked unhealthy after {} failed health checks; no new requests "
                 "go to it until {} checks pass",
                 e.spec.id, e.spec.url, h.consecutive_failures, config_.health.success_threshold);
  }
  return Status::Ok();
}

StatusOr<InFlightTicket> WorkerRegistry::begin_request(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return not_found("cannot dispatch to unknown worker '{}'", id);
  return InFlightTicket(it->second);
}

Status WorkerRegistry::record_request_result(std::string_view id, bool success) {
  std::shared_ptr<WorkerEntry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = workers_.find(id);
    if (it == workers_.end()) return not_found("request result for unknown worker '{}'", id);
    entry = it->second;
  }
  TimePoint now = config_.clock();
  BreakerState before = entry->breaker.state(now);
  if (success) {
    entry->breaker.record_success(now);
  } else {
    entry->breaker.record_failure(now);
  }
  BreakerState after = entry->breaker.state(now);
  if (before != after) {
    spdlog::warn("circuit breaker of worker {} at {}: {} -> {}", entry->spec.id, entry->spec.url,
                 breaker_state_name(before), breaker_state_name(after));
  }
  return Status::Ok();
}

}  // namespace tandem::gateway::routing
