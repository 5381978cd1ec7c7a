#include "gateway/routing/policies/cache_aware.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/routing/fake_clock.h"
#include "tests/unit/routing/policy_test_util.h"

namespace tandem::gateway::routing {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using testing::make_workers;
using Tokens = std::vector<int32_t>;

Tokens prompt(int32_t base, size_t n) {
  Tokens t(n);
  for (size_t i = 0; i < n; ++i) t[i] = base + static_cast<int32_t>(i);
  return t;
}

class CacheAwareTest : public ::testing::Test {
 protected:
  FakeClock clock_;  // declared first: the policy reads it on construction
  CacheAwarePolicy policy_{CacheAwareConfig{}, clock_.fn()};

  size_t route(std::span<const WorkerSnapshot> ws, const Tokens& tokens) {
    auto idx = policy_.select(ws, RouteRequest{.tokens = tokens});
    EXPECT_TRUE(idx.has_value());
    policy_.on_request_routed(ws[*idx].id(), tokens);
    return *idx;
  }
};

TEST_F(CacheAwareTest, SendsAPromptBackToTheWorkerThatServedItsPrefix) {
  auto ws = make_workers(3);
  Tokens a = prompt(1000, 40), b = prompt(2000, 40), c = prompt(3000, 40);
  // Empty trees: each new prefix goes to the worker with the smallest tree, so they spread out.
  size_t wa = route(ws, a), wb = route(ws, b), wc = route(ws, c);
  EXPECT_EQ((std::set<size_t>{wa, wb, wc}).size(), 3u);

  // A follow-up turn that extends `b` (match 40 of 60 >= 0.5) goes where `b` went, even when that
  // worker is somewhat busier.
  ws[wb].load.running = 20;
  Tokens b2 = b;
  for (int i = 0; i < 20; ++i) b2.push_back(9000 + i);
  EXPECT_EQ(route(ws, b2), wb);
  EXPECT_EQ(policy_.tree_size(ws[wb].id()), 60u);
}

TEST_F(CacheAwareTest, BelowTheThresholdGoesToTheSmallestTree) {
  auto ws = make_workers(2);
  Tokens a = prompt(1000, 100);
  ASSERT_EQ(route(ws, a), 0u);
  // Shares 49 of 100 tokens with worker 0's entry: under 0.5, so the emptier worker 1 wins.
  Tokens low = prompt(1000, 49);
  Tokens tail = prompt(5000, 51);
  low.insert(low.end(), tail.begin(), tail.end());
  EXPECT_EQ(*policy_.select(ws, RouteRequest{.tokens = low}), 1u);
  // Exactly 50 of 100: at the threshold, the prefix wins.
  Tokens half = prompt(1000, 50);
  Tokens tail2 = prompt(7000, 50);
  half.insert(half.end(), tail2.begin(), tail2.end());
  EXPECT_EQ(*policy_.select(ws, RouteRequest{.tokens = half}), 0u);
}

TEST_F(CacheAwareTest, SwitchesToLeastLoadedExactlyAtTheImbalanceThresholds) {
  auto ws = make_workers(2);
  Tokens a = prompt(1000, 64);
  ASSERT_EQ(route(ws, a), 0u);
  auto pick = [&](int64_t load0, int64_t load1) {
    ws[0].load.running = load0;
    ws[1].load.running = load1;
    return *policy_.select(ws, RouteRequest{.tokens = a});
  };
  // Difference 64 is not > 64: still cache-aware (worker 0 holds the prefix).
  EXPECT_EQ(pick(64, 0), 0u);
  // Difference 65 and 65 > 1.5 * 0: imbalanced, least loaded wins.
  EXPECT_EQ(pick(65, 0), 1u);
  // Difference 65 but 195 is exactly 1.5 * 130, not more: still balanced.
  EXPECT_EQ(pick(195, 130), 0u);
  EXPECT_EQ(pick(196, 130), 1u);
  // In-flight and waiting count towards the load too.
  ws[0].load.running = 0;
  ws[0].in_flight = 40;
  ws[0].load.waiting = 26;
  ws[1].load.running = 0;
  EXPECT_EQ(*policy_.select(ws, RouteRequest{.tokens = a}), 1u);
}

TEST_F(CacheAwareTest, ForgetsPrefixesAfterTheTtl) {
  auto ws = make_workers(2);
  Tokens a = prompt(1000, 30);
  ASSERT_EQ(route(ws, a), 0u);
  // Give worker 0 a bigger tree, so without a prefix match the policy would pick worker 1.
  ASSERT_EQ(route(ws, prompt(1, 3)), 1u);
  clock_.advance(seconds(119));
  EXPECT_EQ(*policy_.select(ws, RouteRequest{.tokens = a}), 0u);
  // 121 s after the insert (and past the sweep interval), a routed request sweeps the trees.
  clock_.advance(seconds(2));
  policy_.on_request_routed("w1", prompt(5000, 1));
  EXPECT_EQ(policy_.tree_size("w0"), 0u);
  EXPECT_EQ(*policy_.select(ws, RouteRequest{.tokens = a}), 0u) << "both trees empty now: tie";
  EXPECT_EQ(policy_.tree_size("w1"), 1u) << "the fresh insert survives the sweep";
}

TEST_F(CacheAwareTest, RemovedWorkerLosesItsTree) {
  auto ws = make_workers(2);
  Tokens a = prompt(1000, 30);
  size_t w = route(ws, a);
  EXPECT_EQ(policy_.tree_size(ws[w].id()), 30u);
  policy_.on_worker_removed(ws[w].id());
  EXPECT_EQ(policy_.tree_size(ws[w].id()), 0u);
}

TEST(CacheAwareConfigTest, ValidateNamesTheField) {
  CacheAwareConfig c;
  EXPECT_TRUE(validate(c).ok());
  EXPECT_EQ(c.balance_abs_threshold, 64);
  EXPECT_EQ(c.balance_rel_threshold, 1.5);
  EXPECT_EQ(c.eviction_ttl, seconds(120));
  c.balance_rel_threshold = 0.5;
  Status s = validate(c);
  EXPECT_NE(s.message().find("rel"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace tandem::gateway::routing
