// WorkerRegistry: the gateway's table of workers, their health, load and circuit breakers.
//
// The health checker writes health results and load reports; the request path reads healthy
// snapshots, picks one through a RoutingPolicy, holds an InFlightTicket while the request runs and
// records the outcome into the worker's breaker. Every read returns copies, so a policy never sees
// a worker half-updated and never holds the registry lock.
//
// Health: a worker starts unhealthy (HealthConfig::initially_healthy) and turns healthy after
// `success_threshold` consecutive passing checks; a healthy one turns unhealthy after
// `failure_threshold` consecutive failing checks. Failing checks are logged at warn with the
// worker's address (ACCEPTANCE 19).
//
// Thread model: every method is thread-safe. One mutex guards the table and the per-worker health
// and load; the in-flight counters are atomics and the breakers have their own locks, so the hot
// path (ticket, breaker) never contends with the table lock for long.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gateway/routing/circuit_breaker.h"
#include "gateway/routing/worker.h"

namespace tandem::gateway::routing {

struct HealthConfig {
  int failure_threshold = 3;
  int success_threshold = 2;
  bool initially_healthy = false;
};

struct RegistryConfig {
  HealthConfig health;
  CircuitBreakerConfig breaker;
  // Source of time for the breakers; tests inject a fake clock.
  std::function<TimePoint()> clock = [] { return Clock::now(); };
};

// One health check's outcome as the checker saw it.
struct HealthCheckResult {
  bool ok = false;
  int http_status = 0;  // 0 when the check never got a response (connect error, timeout)
  std::string detail{};  // error text for the log; may be empty
};

namespace detail {
struct WorkerEntry;
}  // namespace detail

// Counts one request as in flight on a worker for its lifetime (move-only). The count feeds
// WorkerSnapshot::in_flight. Outliving the registry or the worker's removal is safe.
class InFlightTicket {
 public:
  InFlightTicket() = default;
  explicit InFlightTicket(std::shared_ptr<detail::WorkerEntry> entry);
  InFlightTicket(InFlightTicket&& other) noexcept;
  InFlightTicket& operator=(InFlightTicket&& other) noexcept;
  InFlightTicket(const InFlightTicket&) = delete;
  InFlightTicket& operator=(const InFlightTicket&) = delete;
  ~InFlightTicket();

  bool active() const { return entry_ != nullptr; }
  void release();

 private:
  std::shared_ptr<detail::WorkerEntry> entry_;
};

class WorkerRegistry {
 public:
  explicit WorkerRegistry(RegistryConfig config = {});
  ~WorkerRegistry();

  // kInvalidArgument for an empty id or url, kAlreadyExists for a duplicate id.
  Status add(WorkerSpec spec);
  // kNotFound if absent. Tickets held on the worker stay valid.
  Status remove(std::string_view id);
  std::optional<WorkerSnapshot> get(std::string_view id) const;
  std::vector<WorkerSnapshot> list() const;
  // Workers of `role` that are healthy and whose breaker admits a request now, in id order.
  std::vector<WorkerSnapshot> healthy(WorkerRole role) const;
  size_t size() const;
  // ACCEPTANCE 16: the gateway is ready when at least one mixed worker, or at least one prefill
  // and one decode worker, is healthy (breaker state is not considered: it recovers by itself).
  bool ready() const;
  // The same per serving mode: a PD gateway serves only through pairs, a plain one only through
  // mixed workers (SMG's PD router likewise serves PD only).
  bool ready_for(bool pd_mode) const;

  Status update_load(std::string_view id, const WorkerLoad& load);
  // Applies one health check result; returns kNotFound for an unknown id.
  Status mark_health(std::string_view id, const HealthCheckResult& result);

  // Request path: count a request in flight, then report how it ended to the breaker.
  StatusOr<InFlightTicket> begin_request(std::string_view id);
  Status record_request_result(std::string_view id, bool success);

 private:
  WorkerSnapshot snapshot_locked(const detail::WorkerEntry& entry, TimePoint now) const;

  const RegistryConfig config_;
  mutable std::mutex mu_;
  // Ordered by id so list() and healthy() are deterministic for policies and tests.
  std::map<std::string, std::shared_ptr<detail::WorkerEntry>, std::less<>> workers_;  // guarded by mu_
};

}  // namespace tandem::gateway::routing
