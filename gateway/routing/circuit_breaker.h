// CircuitBreaker: per-worker guard that stops routing to a worker that keeps failing, then probes
// it again after a cool-down (ACCEPTANCE 19; defaults follow SMG).
//
// States: closed (requests flow) -> open after `failure_threshold` consecutive failures that all
// lie within `window` -> half-open once `open_duration` has passed -> closed after
// `success_threshold` consecutive successes, or open again on any failure.
// A success while closed clears the failure count: the breaker trips on a run of failures, not on
// a low success rate, so one flaky request in an hour never opens it.
//
// Time is passed in (`now`) rather than read here, so tests drive it without sleeping and the
// registry can inject its clock. State transitions that depend only on time (open -> half-open)
// happen lazily on the next call that passes a `now`.
//
// Thread model: thread-safe (internal mutex); calls are short and never block on I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string_view>

namespace tandem::gateway::routing {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

struct CircuitBreakerConfig {
  int failure_threshold = 5;
  int success_threshold = 2;
  Duration window = std::chrono::seconds(60);
  Duration open_duration = std::chrono::seconds(30);
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view breaker_state_name(BreakerState state);

class CircuitBreaker {
 public:
  explicit CircuitBreaker(CircuitBreakerConfig config = {});

  // True when a request may be sent now (closed or half-open).
  bool allow_request(TimePoint now);
  void record_success(TimePoint now);
  void record_failure(TimePoint now);
  BreakerState state(TimePoint now);
  // Failures counted towards tripping (closed state), for metrics and logs.
  int recent_failures(TimePoint now);
  const CircuitBreakerConfig& config() const { return config_; }

 private:
  // Both require mu_ held.
  void advance_locked(TimePoint now);
  void open_locked(TimePoint now);

  const CircuitBreakerConfig config_;
  std::mutex mu_;
  BreakerState state_ = BreakerState::kClosed;  // guarded by mu_
  std::deque<TimePoint> failures_;               // guarded by mu_; closed state, oldest first
  int half_open_successes_ = 0;                  // guarded by mu_
  TimePoint opened_at_{};                        // guarded by mu_
};

}  // namespace tandem::gateway::routing
