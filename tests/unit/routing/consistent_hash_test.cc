#include "gateway/routing/policies/consistent_hash.h"

#include <gtest/gtest.h>

#include <map>

#include "tests/unit/routing/policy_test_util.h"

namespace tandem::gateway::routing {
namespace {

using testing::make_workers;

// Maps each of `n_keys` keys to the chosen worker id.
std::vector<std::string> assign(ConsistentHashPolicy& p, const std::vector<WorkerSnapshot>& ws,
                                int n_keys) {
  std::vector<std::string> out;
  for (int k = 0; k < n_keys; ++k) {
    std::string key = "session-" + std::to_string(k);
    out.push_back(ws[*p.select(ws, RouteRequest{.routing_key = key})].id());
  }
  return out;
}

TEST(ConsistentHashTest, SameKeySameWorker) {
  ConsistentHashPolicy p({});
  auto ws = make_workers(5);
  auto first = assign(p, ws, 200);
  EXPECT_EQ(assign(p, ws, 200), first);
  // Spread: every worker owns some keys.
  std::map<std::string, int> counts;
  for (auto& id : first) ++counts[id];
  EXPECT_EQ(counts.size(), 5u);
  for (auto& [id, n] : counts) EXPECT_GT(n, 15) << id;
}

TEST(ConsistentHashTest, AddingAWorkerMovesAboutOneNthOfTheKeys) {
  ConsistentHashPolicy p({});
  auto four = make_workers(5);
  auto added = four.back();
  four.pop_back();
  const int kKeys = 4000;
  auto before = assign(p, four, kKeys);
  auto five = four;
  five.push_back(added);
  auto after = assign(p, five, kKeys);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] != after[k]) {
      ++moved;
      // A key only ever moves to the new worker.
      ASSERT_EQ(after[k], added.id()) << "key " << k << " moved between old workers";
    }
  }
  // Ideal is 1/5 of the keys; allow virtual-node unevenness.
  EXPECT_GT(moved, kKeys / 10);
  EXPECT_LT(moved, kKeys * 3 / 10);

  // Removing a worker moves exactly the keys it owned.
  auto three = four;
  three.erase(three.begin() + 1);
  auto after_removal = assign(p, three, kKeys);
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] != four[1].id()) {
      ASSERT_EQ(after_removal[k], before[k]) << "key " << k;
    }
  }
}

TEST(ConsistentHashTest, CandidateOrderDoesNotChangeTheAnswer) {
  ConsistentHashPolicy p({});
  auto ws = make_workers(4);
  auto forward = assign(p, ws, 300);
  std::reverse(ws.begin(), ws.end());
  EXPECT_EQ(assign(p, ws, 300), forward);
}

TEST(ConsistentHashTest, NoKeyFallsBackToRoundRobin) {
  ConsistentHashPolicy p({});
  auto ws = make_workers(3);
  std::vector<size_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(*p.select(ws, RouteRequest{}));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
  std::string_view empty;
  EXPECT_EQ(*p.select(ws, RouteRequest{.routing_key = empty}), 0u);
}

}  // namespace
}  // namespace tandem::gateway::routing
