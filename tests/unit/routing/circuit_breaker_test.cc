#include "gateway/routing/circuit_breaker.h"

#include <gtest/gtest.h>

#include "tests/unit/routing/fake_clock.h"

namespace tandem::gateway::routing {
namespace {

using std::chrono::seconds;
using testing::FakeClock;

TEST(CircuitBreakerTest, DefaultsMatchSmg) {
  CircuitBreakerConfig c;
  EXPECT_EQ(c.failure_threshold, 5);
  EXPECT_EQ(c.success_threshold, 2);
  EXPECT_EQ(c.window, seconds(60));
  EXPECT_EQ(c.open_duration, seconds(30));
}

TEST(CircuitBreakerTest, OpensAfterFiveFailuresThenHalfOpensAfterThirtySeconds) {
  FakeClock clock;
  CircuitBreaker b;
  for (int i = 0; i < 4; ++i) {
    b.record_failure(clock.now());
    EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed) << "after failure " << i + 1;
    EXPECT_TRUE(b.allow_request(clock.now()));
  }
  b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kOpen);
  EXPECT_FALSE(b.allow_request(clock.now()));

  clock.advance(seconds(29));
  EXPECT_FALSE(b.allow_request(clock.now()));
  clock.advance(seconds(1));
  EXPECT_EQ(b.state(clock.now()), BreakerState::kHalfOpen);
  EXPECT_TRUE(b.allow_request(clock.now()));
}

TEST(CircuitBreakerTest, HalfOpenClosesAfterTwoSuccesses) {
  FakeClock clock;
  CircuitBreaker b;
  for (int i = 0; i < 5; ++i) b.record_failure(clock.now());
  clock.advance(seconds(30));
  b.record_success(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kHalfOpen);
  b.record_success(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed);
  EXPECT_EQ(b.recent_failures(clock.now()), 0);
  // Closed again from scratch: four failures do not reopen it.
  for (int i = 0; i < 4; ++i) b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed);
}

TEST(CircuitBreakerTest, HalfOpenFailureReopensForAFullPeriod) {
  FakeClock clock;
  CircuitBreaker b;
  for (int i = 0; i < 5; ++i) b.record_failure(clock.now());
  clock.advance(seconds(30));
  b.record_success(clock.now());
  b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kOpen);
  clock.advance(seconds(29));
  EXPECT_EQ(b.state(clock.now()), BreakerState::kOpen);
  clock.advance(seconds(1));
  EXPECT_EQ(b.state(clock.now()), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, FailuresOutsideTheWindowDoNotCount) {
  FakeClock clock;
  CircuitBreaker b;
  for (int i = 0; i < 4; ++i) {
    b.record_failure(clock.now());
    clock.advance(seconds(20));  // failures at 0, 20, 40, 60 s
  }
  // Now t = 80 s: the failure at 0 s is older than 60 s, so this is the 4th in the window.
  b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed);
  EXPECT_EQ(b.recent_failures(clock.now()), 4);
  b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, SuccessWhileClosedClearsTheFailureRun) {
  FakeClock clock;
  CircuitBreaker b;
  for (int i = 0; i < 4; ++i) b.record_failure(clock.now());
  b.record_success(clock.now());
  for (int i = 0; i < 4; ++i) b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed);
  b.record_failure(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, CustomConfig) {
  FakeClock clock;
  CircuitBreaker b({.failure_threshold = 1, .success_threshold = 1, .window = seconds(5),
                    .open_duration = seconds(2)});
  b.record_failure(clock.now());
  EXPECT_FALSE(b.allow_request(clock.now()));
  clock.advance(seconds(2));
  b.record_success(clock.now());
  EXPECT_EQ(b.state(clock.now()), BreakerState::kClosed);
}

}  // namespace
}  // namespace tandem::gateway::routing
