// Retry policy for dispatching a request to a worker (ACCEPTANCE 18; defaults follow SMG).
//
// The rule the request path must follow:
//   * A request is retried only when the failure is retryable (is_retryable_http /
//     is_retryable_status) AND no token has been streamed to the client yet. Once the first token
//     went out, a retry would duplicate or contradict output the client already has, so the error
//     is sent in-stream instead.
//   * "No available workers" (the policy found no healthy candidate) is never retried: the gateway
//     answers 503 at once. Waiting for a worker to come back would only hold the client's
//     connection while the backlog grows.
//   * At most `max_attempts` attempts in total (the first one included); before attempt n+1 the
//     gateway waits backoff(n): initial * multiplier^(n-1), capped at `max_backoff`, then
//     multiplied by a uniform factor in [1 - jitter, 1 + jitter] so retries from many requests do
//     not arrive at the same instant. The jittered delay never exceeds max_backoff.
//   * Each retry goes through worker selection again, so a failed worker's breaker and health
//     steer the retry elsewhere.
//
// Thread model: pure functions; the caller owns the Rng (one per thread or guarded).
#pragma once

#include <chrono>
#include <random>

#include "common/status.h"

namespace tandem::gateway::routing {

using Rng = std::mt19937_64;

struct RetryConfig {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{50};
  double multiplier = 2.0;
  std::chrono::milliseconds max_backoff{5000};
  double jitter = 0.1;  // fraction of the delay, 0 disables
};

// kInvalidArgument naming the bad field: max_attempts >= 1, initial >= 0, multiplier >= 1,
// max >= initial, 0 <= jitter < 1.
Status validate(const RetryConfig& config);

// Delay before the next attempt after `attempts_made` (>= 1) attempts have failed.
std::chrono::milliseconds backoff(const RetryConfig& config, int attempts_made, Rng& rng);

// 408 Request Timeout, 429 Too Many Requests and 5xx except 501 Not Implemented and
// 505 HTTP Version Not Supported (those fail the same way on every worker).
bool is_retryable_http(int status);
// The gRPC-status counterpart: UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN.
bool is_retryable_status(StatusCode code);

// Combines the rule above: may the request path try again after `attempts_made` attempts?
bool should_retry(const RetryConfig& config, int attempts_made, bool retryable_failure,
                  bool first_token_streamed);

}  // namespace tandem::gateway::routing
