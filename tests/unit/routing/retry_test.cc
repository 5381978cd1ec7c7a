#include "gateway/routing/retry.h"

#include <gtest/gtest.h>

namespace tandem::gateway::routing {
namespace {

using std::chrono::milliseconds;

TEST(RetryTest, DefaultsMatchSmgAndValidate) {
  RetryConfig c;
  EXPECT_EQ(c.max_attempts, 5);
  EXPECT_EQ(c.initial_backoff, milliseconds(50));
  EXPECT_EQ(c.multiplier, 2.0);
  EXPECT_EQ(c.max_backoff, milliseconds(5000));
  EXPECT_EQ(c.jitter, 0.1);
  EXPECT_TRUE(validate(c).ok());
}

TEST(RetryTest, ValidateRejectsBadFields) {
  RetryConfig c;
  c.max_attempts = 0;
  EXPECT_EQ(validate(c).code(), StatusCode::kInvalidArgument);
  c = {};
  c.jitter = 1.0;
  EXPECT_EQ(validate(c).code(), StatusCode::kInvalidArgument);
  c = {};
  c.max_backoff = milliseconds(10);
  Status s = validate(c);
  EXPECT_NE(s.message().find("50"), std::string::npos) << s.message();
  c = {};
  c.multiplier = 0.5;
  EXPECT_FALSE(validate(c).ok());
}

TEST(RetryTest, BackoffWithoutJitterDoublesUpToTheCap) {
  RetryConfig c;
  c.jitter = 0.0;
  Rng rng(1);
  EXPECT_EQ(backoff(c, 1, rng), milliseconds(50));
  EXPECT_EQ(backoff(c, 2, rng), milliseconds(100));
  EXPECT_EQ(backoff(c, 3, rng), milliseconds(200));
  EXPECT_EQ(backoff(c, 4, rng), milliseconds(400));
  EXPECT_EQ(backoff(c, 7, rng), milliseconds(3200));
  EXPECT_EQ(backoff(c, 8, rng), milliseconds(5000));
  EXPECT_EQ(backoff(c, 1000, rng), milliseconds(5000));
}

TEST(RetryTest, JitterStaysWithinTenPercentAndVaries) {
  RetryConfig c;
  Rng rng(42);
  int64_t lo = 1 << 30, hi = 0;
  for (int i = 0; i < 2000; ++i) {
    int64_t d = backoff(c, 3, rng).count();  // base 200 ms
    ASSERT_GE(d, 180);
    ASSERT_LE(d, 220);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  // Uniform jitter over +-20 ms: 2000 draws reach close to both ends.
  EXPECT_LE(lo, 183);
  EXPECT_GE(hi, 217);
  // Jitter never pushes a capped delay past the cap.
  for (int i = 0; i < 200; ++i) ASSERT_LE(backoff(c, 20, rng).count(), 5000);
}

TEST(RetryTest, RetryableHttpStatuses) {
  for (int s : {408, 429, 500, 502, 503, 504}) EXPECT_TRUE(is_retryable_http(s)) << s;
  for (int s : {200, 400, 401, 403, 404, 413, 422, 501, 505}) EXPECT_FALSE(is_retryable_http(s)) << s;
}

TEST(RetryTest, RetryableGrpcStatuses) {
  EXPECT_TRUE(is_retryable_status(StatusCode::kUnavailable));
  EXPECT_TRUE(is_retryable_status(StatusCode::kResourceExhausted));
  EXPECT_FALSE(is_retryable_status(StatusCode::kInvalidArgument));
  EXPECT_FALSE(is_retryable_status(StatusCode::kCancelled));
  EXPECT_FALSE(is_retryable_status(StatusCode::kOk));
}

TEST(RetryTest, ShouldRetryOnlyBeforeTheFirstTokenAndWithinAttempts) {
  RetryConfig c;
  EXPECT_TRUE(should_retry(c, 1, /*retryable=*/true, /*streamed=*/false));
  EXPECT_TRUE(should_retry(c, 4, true, false));
  EXPECT_FALSE(should_retry(c, 5, true, false));   // five attempts in total
  EXPECT_FALSE(should_retry(c, 1, true, true));    // a token already reached the client
  EXPECT_FALSE(should_retry(c, 1, false, false));  // not a retryable failure
}

}  // namespace
}  // namespace tandem::gateway::routing
