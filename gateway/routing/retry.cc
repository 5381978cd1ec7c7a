#include "gateway/routing/retry.h"

#include <algorithm>
#include <cmath>

namespace tandem::gateway::routing {

Status validate(const RetryConfig& c) {
  if (c.max_attempts < 1) {
    return invalid_argument("retry max_attempts must be >= 1 (1 disables retries), got {}",
                            c.max_attempts);
  }
  if (c.initial_backoff.count() < 0) {
    return invalid_argument("retry initial backoff must be >= 0 ms, got {} ms",
                            c.initial_backoff.count());
  }
  if (!(c.multiplier >= 1.0)) {
    return invalid_argument("retry backoff multiplier must be >= 1, got {}", c.multiplier);
  }
  if (c.max_backoff < c.initial_backoff) {
    return invalid_argument("retry max backoff ({} ms) is below the initial backoff ({} ms)",
                            c.max_backoff.count(), c.initial_backoff.count());
  }
  if (!(c.jitter >= 0.0 && c.jitter < 1.0)) {
    return invalid_argument("retry jitter must be in [0, 1), got {}", c.jitter);
  }
  return Status::Ok();
}

std::chrono::milliseconds backoff(const RetryConfig& c, int attempts_made, Rng& rng) {
  const double cap = static_cast<double>(c.max_backoff.count());
  // Grow in floating point and cap before converting, so many attempts cannot overflow.
  double delay = static_cast<double>(c.initial_backoff.count()) *
                 std::pow(c.multiplier, std::max(attempts_made, 1) - 1);
  delay = std::min(delay, cap);
  if (c.jitter > 0.0) {
    std::uniform_real_distribution<double> dist(1.0 - c.jitter, 1.0 + c.jitter);
    delay = std::min(delay * dist(rng), cap);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(delay)));
}

bool is_retryable_http(int status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

bool is_retryable_status(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kAborted:
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
      return true;
    default:
      return false;
  }
}

bool should_retry(const RetryConfig& c, int attempts_made, bool retryable_failure,
                  bool first_token_streamed) {
  return retryable_failure && !first_token_streamed && attempts_made < c.max_attempts;
}

}  // namespace tandem::gateway::routing
