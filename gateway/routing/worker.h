// Worker description and the copyable snapshot policies route over.
//
// A WorkerSpec is what the operator configured (fixed for the worker's life in the registry);
// WorkerLoad is what the worker last reported; WorkerSnapshot joins both with the gateway's own
// view (health, breaker, in-flight count) at one instant. Snapshots are plain values: a policy may
// read them on any thread while the registry keeps changing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "gateway/routing/circuit_breaker.h"

namespace tandem::gateway::routing {

enum class WorkerRole { kMixed, kPrefill, kDecode };
std::string_view worker_role_name(WorkerRole role);
// Accepts "mixed", "prefill", "decode".
StatusOr<WorkerRole> parse_worker_role(std::string_view name);

struct WorkerSpec {
  std::string id{};      // unique in the registry; defaults to url when the gateway has no name
  std::string url{};     // host:port of the worker's gRPC service
  std::string model_id{};  // served model name
  WorkerRole role = WorkerRole::kMixed;
  std::optional<uint16_t> bootstrap_port{};  // prefill workers only: KV transfer bootstrap port
};

// The KV-transfer side of a prefill or decode worker's load (GetLoads DisaggregationMetrics),
// when the worker reports it.
struct DisaggLoad {
  int64_t prefill_prealloc_queue = 0;  // prefill: rooms waiting for their decode peer
  int64_t prefill_inflight_queue = 0;  // prefill: rooms computed, KV being sent
  int64_t decode_prealloc_queue = 0;   // decode: requests waiting for KV slots
  int64_t decode_transfer_queue = 0;   // decode: requests whose KV is arriving
  double kv_transfer_speed_gb_s = 0.0;
  double kv_transfer_latency_ms = 0.0;
};

// Last load the worker reported (GetLoad / health response). Zero until the first report.
struct WorkerLoad {
  int64_t running = 0;       // requests in the running batch
  int64_t waiting = 0;       // requests queued
  int64_t used_tokens = 0;   // KV tokens in use
  int64_t total_tokens = 0;  // KV token capacity
  double cache_hit_rate = 0.0;
  std::optional<DisaggLoad> disagg{};  // prefill / decode workers that report it
};

struct WorkerHealth {
  bool healthy = false;
  int consecutive_failures = 0;
  int consecutive_successes = 0;
};

struct WorkerSnapshot {
  WorkerSpec spec;
  WorkerLoad load;
  WorkerHealth health;
  BreakerState breaker = BreakerState::kClosed;
  int64_t in_flight = 0;  // requests the gateway dispatched and not yet finished

  const std::string& id() const { return spec.id; }
  // The queue-length signal every load-aware policy compares: what the worker reported running
  // and waiting, plus what the gateway sent since (the report lags).
  int64_t total_load() const { return in_flight + load.running + load.waiting; }
};

}  // namespace tandem::gateway::routing
