// A manually advanced clock for routing tests: no sleeps, exact thresholds.
#pragma once

#include <functional>

#include "gateway/routing/circuit_breaker.h"

namespace tandem::gateway::routing::testing {

class FakeClock {
 public:
  // Start well past the epoch so "now - window" never underflows the time_point.
  TimePoint now() const { return now_; }
  void advance(Duration d) { now_ += d; }
  std::function<TimePoint()> fn() {
    return [this] { return now_; };
  }

 private:
  TimePoint now_ = TimePoint{} + std::chrono::hours(1000);
};

}  // namespace tandem::gateway::routing::testing
