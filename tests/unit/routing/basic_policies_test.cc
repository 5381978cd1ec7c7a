// Factory, round_robin, random and power_of_two.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "gateway/routing/policies/routing_policy.h"
#include "tests/unit/routing/policy_test_util.h"

namespace tandem::gateway::routing {
namespace {

using testing::make_workers;

std::unique_ptr<RoutingPolicy> make(std::string_view name, std::optional<uint64_t> seed = 7) {
  PolicyConfig c;
  c.seed = seed;
  auto p = make_routing_policy(name, c);
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return std::move(*p);
}

TEST(PolicyFactoryTest, KnowsEveryNameAndRejectsOthers) {
  for (std::string_view name :
       {"round_robin", "random", "power_of_two", "cache_aware", "consistent_hash"}) {
    EXPECT_EQ(make(name)->name(), name);
  }
  auto bad = make_routing_policy("least_loaded", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("cache_aware"), std::string::npos);

  PolicyConfig c;
  c.cache_aware.cache_threshold = 1.5;
  EXPECT_EQ(make_routing_policy("cache_aware", c).status().code(), StatusCode::kInvalidArgument);
  c = {};
  c.consistent_hash.virtual_nodes = 0;
  EXPECT_EQ(make_routing_policy("consistent_hash", c).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PolicyFactoryTest, EveryPolicyReturnsNulloptForNoCandidates) {
  for (std::string_view name :
       {"round_robin", "random", "power_of_two", "cache_aware", "consistent_hash"}) {
    auto p = make(name);
    std::string_view key = "user-1";
    EXPECT_FALSE(p->select({}, RouteRequest{.routing_key = key}).has_value()) << name;
    auto one = make_workers(1);
    EXPECT_EQ(p->select(one, RouteRequest{.routing_key = key}), std::optional<size_t>(0)) << name;
  }
}

TEST(RoundRobinTest, RotatesExactly) {
  auto p = make("round_robin");
  auto ws = make_workers(3, {100, 0, 5});  // load is ignored
  std::vector<size_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(*p->select(ws, {}));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RandomTest, CoversAllCandidatesRoughlyEvenlyAndIsSeedable) {
  auto p = make("random", 123);
  auto ws = make_workers(4);
  std::map<size_t, int> counts;
  std::vector<size_t> first;
  for (int i = 0; i < 4000; ++i) {
    size_t s = *p->select(ws, {});
    ASSERT_LT(s, 4u);
    ++counts[s];
    if (i < 20) first.push_back(s);
  }
  ASSERT_EQ(counts.size(), 4u);
  for (auto [idx, n] : counts) EXPECT_GT(n, 800) << "worker " << idx;

  auto again = make("random", 123);
  std::vector<size_t> replay;
  for (int i = 0; i < 20; ++i) replay.push_back(*again->select(ws, {}));
  EXPECT_EQ(first, replay);
}

TEST(PowerOfTwoTest, PrefersTheLessLoaded) {
  auto p = make("power_of_two", 5);
  // With two candidates both are always sampled, so the lighter one always wins.
  auto two = make_workers(2, {10, 3});
  for (int i = 0; i < 50; ++i) ASSERT_EQ(*p->select(two, {}), 1u);
  two[1].in_flight = 8;  // in-flight counts too: 11 > 10
  for (int i = 0; i < 50; ++i) ASSERT_EQ(*p->select(two, {}), 0u);

  // Four workers: the most loaded is never chosen (it always loses its pair), the least loaded
  // wins every pair it is in (half of all pairs).
  auto ws = make_workers(4, {50, 1, 20, 30});
  std::map<size_t, int> counts;
  for (int i = 0; i < 3000; ++i) ++counts[*p->select(ws, {})];
  EXPECT_EQ(counts[0], 0);
  EXPECT_GT(counts[1], 1300);
  EXPECT_GT(counts[1], counts[2]);
  EXPECT_GT(counts[2], counts[3]);
}

TEST(PowerOfTwoTest, TiesAreDeterministic) {
  auto p = make("power_of_two", 9);
  auto ws = make_workers(2, {4, 4});
  for (int i = 0; i < 20; ++i) ASSERT_EQ(*p->select(ws, {}), 0u);
}

}  // namespace
}  // namespace tandem::gateway::routing
