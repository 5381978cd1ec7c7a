#include "gateway/routing/circuit_breaker.h"

#include "common/check.h"

namespace tandem::gateway::routing {

std::string_view breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed: return "closed";
    case BreakerState::kOpen: return "open";
    case BreakerState::kHalfOpen: return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerConfig config) : config_(config) {
  CHECK(config_.failure_threshold >= 1, "circuit breaker failure_threshold must be >= 1, got {}",
        config_.failure_threshold);
  CHECK(config_.success_threshold >= 1, "circuit breaker success_threshold must be >= 1, got {}",
        config_.success_threshold);
  CHECK(config_.window.count() > 0 && config_.open_duration.count() >= 0,
        "circuit breaker window must be > 0 and open_duration >= 0");
}

void CircuitBreaker::advance_locked(TimePoint now) {
  if (state_ == BreakerState::kOpen && now - opened_at_ >= config_.open_duration) {
    state_ = BreakerState::kHalfOpen;
    half_open_successes_ = 0;
  }
  if (state_ == BreakerState::kClosed) {
    // Failures older than the window no longer count towards tripping.
    while (!failures_.empty() && now - failures_.front() > config_.window) failures_.pop_front();
  }
}

void CircuitBreaker::open_locked(TimePoint now) {
  state_ = BreakerState::kOpen;
  opened_at_ = now;
  failures_.clear();
  half_open_successes_ = 0;
}

bool CircuitBreaker::allow_request(TimePoint now) {
  std::lock_guard lock(mu_);
  advance_locked(now);
  return state_ != BreakerState::kOpen;
}

void CircuitBreaker::record_success(TimePoint now) {
  std::lock_guard lock(mu_);
  advance_locked(now);
  switch (state_) {
    case BreakerState::kClosed:
      failures_.clear();
      break;
    case BreakerState::kHalfOpen:
      if (++half_open_successes_ >= config_.success_threshold) {
        state_ = BreakerState::kClosed;
        failures_.clear();
        half_open_successes_ = 0;
      }
      break;
    case BreakerState::kOpen:
      // A request admitted before the breaker opened finished late; it proves little.
      break;
  }
}

void CircuitBreaker::record_failure(TimePoint now) {
  std::lock_guard lock(mu_);
  advance_locked(now);
  switch (state_) {
    case BreakerState::kClosed:
      failures_.push_back(now);
      if (static_cast<int>(failures_.size()) >= config_.failure_threshold) open_locked(now);
      break;
    case BreakerState::kHalfOpen:
      open_locked(now);
      break;
    case BreakerState::kOpen:
      break;  // already open; the cool-down keeps its original start
  }
}

BreakerState CircuitBreaker::state(TimePoint now) {
  std::lock_guard lock(mu_);
  advance_locked(now);
  return state_;
}

int CircuitBreaker::recent_failures(TimePoint now) {
  std::lock_guard lock(mu_);
  advance_locked(now);
  return static_cast<int>(failures_.size());
}

}  // namespace tandem::gateway::routing
