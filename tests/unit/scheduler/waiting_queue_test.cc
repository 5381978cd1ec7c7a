// WaitingQueue: push order, duplicate ids, removal by id, waiting-timeout expiry (which requests,
// in which order, marked how), and that the index stays consistent after removals.
#include "scheduler/waiting_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "scheduler/policies/fcfs_policy.h"
#include "scheduler/policies/priority_policy.h"
#include "scheduler/radix_cache.h"

namespace tandem::scheduler {
namespace {

using std::chrono::seconds;
const TimePoint kT0 = TimePoint{} + seconds(1000);

std::unique_ptr<Request> req(std::string id, int arrival_s = 0,
                             std::optional<Duration> wait = std::nullopt) {
  auto r = std::make_unique<Request>(std::move(id), std::vector<int32_t>{1, 2},
                                     sampling::SamplingParams{}, kT0 + seconds(arrival_s));
  r->waiting_timeout = wait;
  return r;
}

std::vector<std::string> ids(const std::vector<Request*>& rs) {
  std::vector<std::string> out;
  for (auto* r : rs) out.push_back(r->id);
  return out;
}

using Ids = std::vector<std::string>;

TEST(WaitingQueueTest, PushOrderAndDuplicateIds) {
  WaitingQueue q;
  ASSERT_TRUE(q.push(req("a"), kT0).ok());
  ASSERT_TRUE(q.push(req("b"), kT0).ok());
  ASSERT_TRUE(q.push(req("c"), kT0).ok());
  Status dup = q.push(req("b"), kT0);
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("'b'"), std::string::npos) << dup.message();
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(ids(q.requests()), (Ids{"a", "b", "c"}));
}

TEST(WaitingQueueTest, RemoveById) {
  WaitingQueue q;
  for (auto id : {"a", "b", "c", "d"}) ASSERT_TRUE(q.push(req(id), kT0).ok());
  std::unique_ptr<Request> b = q.remove("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->id, "b");
  EXPECT_EQ(b->state(), RequestState::kQueued);  // the caller transitions
  EXPECT_EQ(q.remove("b"), nullptr);
  EXPECT_EQ(q.remove("zzz"), nullptr);
  EXPECT_FALSE(q.contains("b"));
  EXPECT_TRUE(q.contains("c"));
  EXPECT_EQ(q.find("d")->id, "d");
  EXPECT_EQ(ids(q.requests()), (Ids{"a", "c", "d"}));
  // The id is free again: an aborted id can be reused.
  ASSERT_TRUE(q.push(std::move(b), kT0).ok());
  EXPECT_EQ(ids(q.requests()), (Ids{"a", "c", "d", "b"}));
  while (!q.empty()) q.remove(q.requests().front()->id);
  EXPECT_EQ(q.size(), 0u);
}

TEST(WaitingQueueDeathTest, PushRequiresQueuedState) {
  WaitingQueue q;
  auto r = req("a");
  r->transition(RequestState::kPrefilling, kT0);
  EXPECT_DEATH((void)q.push(std::move(r), kT0), "only queued requests may wait");
}

TEST(WaitingQueueTest, ExpireByWaitingTimeout) {
  WaitingQueue q;
  ASSERT_TRUE(q.push(req("slow", 0, seconds(10)), kT0).ok());              // deadline T0+10
  ASSERT_TRUE(q.push(req("never", 0), kT0).ok());                          // no timeout
  ASSERT_TRUE(q.push(req("fast", 0, seconds(3)), kT0).ok());               // deadline T0+3
  ASSERT_TRUE(q.push(req("late", 0, seconds(3)), kT0 + seconds(5)).ok());  // T0+8 (push time)
  EXPECT_EQ(q.next_deadline(), kT0 + seconds(3));

  EXPECT_TRUE(q.expire(kT0 + seconds(2)).empty());
  auto first = q.expire(kT0 + seconds(3));  // deadline == now expires
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]->id, "fast");
  EXPECT_EQ(first[0]->state(), RequestState::kAborted);
  EXPECT_EQ(first[0]->finish_reason, FinishReason::kWaitingTimeout);
  EXPECT_EQ(first[0]->finished, kT0 + seconds(3));

  // A request removed before its deadline never comes back from expire().
  ASSERT_NE(q.remove("late"), nullptr);
  auto rest = q.expire(kT0 + seconds(100));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0]->id, "slow");
  EXPECT_EQ(ids(q.requests()), (Ids{"never"}));
  EXPECT_FALSE(q.next_deadline());
}

TEST(WaitingQueueTest, ExpireReturnsEarliestDeadlineFirst) {
  WaitingQueue q;
  ASSERT_TRUE(q.push(req("c", 0, seconds(9)), kT0).ok());
  ASSERT_TRUE(q.push(req("a", 0, seconds(1)), kT0).ok());
  ASSERT_TRUE(q.push(req("b", 0, seconds(5)), kT0).ok());
  std::vector<std::string> got;
  for (auto& r : q.expire(kT0 + seconds(9))) got.push_back(r->id);
  EXPECT_EQ(got, (Ids{"a", "b", "c"}));
  EXPECT_TRUE(q.empty());
}

TEST(WaitingQueueTest, OrderedDelegatesToPolicy) {
  WaitingQueue q;
  auto low = req("low", 0);
  auto high = req("high", 5);
  high->priority = 3;
  ASSERT_TRUE(q.push(std::move(low), kT0).ok());
  ASSERT_TRUE(q.push(std::move(high), kT0).ok());
  RadixCache cache(1, [](std::span<const int32_t>) {});
  FcfsPolicy fcfs;
  PriorityPolicy priority;
  EXPECT_EQ(ids(q.ordered(fcfs, cache)), (Ids{"low", "high"}));
  EXPECT_EQ(ids(q.ordered(priority, cache)), (Ids{"high", "low"}));
  EXPECT_EQ(ids(q.requests()), (Ids{"low", "high"}));  // the queue itself is not reordered
}

}  // namespace
}  // namespace tandem::scheduler
