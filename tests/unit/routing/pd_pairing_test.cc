// PD pairing: pair picking under each policy, bootstrap rooms, the bootstrap endpoint, readiness.
#include "gateway/routing/pd_pairing.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "gateway/routing/worker_registry.h"
#include "tests/unit/routing/policy_test_util.h"

namespace tandem::gateway::routing {
namespace {

using testing::make_workers;

using Tokens = std::vector<int32_t>;

std::vector<WorkerSnapshot> pool(const std::string& prefix, size_t n, std::vector<int64_t> loads = {}) {
  auto ws = make_workers(n, std::move(loads));
  for (auto& w : ws) w.spec.id = fmt::format("{}{}", prefix, w.spec.id);
  return ws;
}

PdPairPicker picker(const std::string& prefill, const std::string& decode, uint64_t seed = 7) {
  PolicyConfig pc;
  pc.seed = seed;
  auto p = make_routing_policy(prefill, pc);
  auto d = make_routing_policy(decode, pc);
  EXPECT_TRUE(p.ok() && d.ok());
  return PdPairPicker(std::move(p).value(), std::move(d).value());
}

TEST(PdPairPicker, NoPairWithoutBothSides) {
  PdPairPicker pk = picker("round_robin", "round_robin");
  auto prefill = pool("p", 2), decode = pool("d", 2);
  EXPECT_FALSE(pk.select(prefill, {}, {}).has_value());
  EXPECT_FALSE(pk.select({}, decode, {}).has_value());
  EXPECT_TRUE(pk.select(prefill, decode, {}).has_value());
}

TEST(PdPairPicker, RoundRobinCyclesEachPoolIndependently) {
  PdPairPicker pk = picker("round_robin", "round_robin");
  auto prefill = pool("p", 2), decode = pool("d", 3);
  std::map<std::pair<size_t, size_t>, int> seen;
  for (int i = 0; i < 6; ++i) {
    auto pair = pk.select(prefill, decode, {});
    ASSERT_TRUE(pair);
    ++seen[{pair->prefill, pair->decode}];
  }
  // 2 × 3 pools cycled in lockstep for 6 requests: every combination exactly once.
  EXPECT_EQ(seen.size(), 6u);
}

TEST(PdPairPicker, PowerOfTwoDecodeAvoidsTheBusyWorker) {
  PdPairPicker pk = picker("round_robin", "power_of_two");
  auto prefill = pool("p", 1);
  auto decode = pool("d", 2, {50, 0});  // d0 is busy
  for (int i = 0; i < 20; ++i) {
    auto pair = pk.select(prefill, decode, {});
    ASSERT_TRUE(pair);
    EXPECT_EQ(pair->decode, 1u);
  }
}

TEST(PdPairPicker, CacheAwarePrefillFollowsThePrefixAndLearnsOnlyFromRoutedPairs) {
  PdPairPicker pk = picker("cache_aware", "round_robin");
  auto prefill = pool("p", 2), decode = pool("d", 2);
  Tokens a(64), b(64);
  for (int i = 0; i < 64; ++i) {
    a[i] = 100 + i;
    b[i] = 5000 + i;
  }
  auto route = [&](const Tokens& t) {
    auto pair = pk.select(prefill, decode, RouteRequest{.tokens = t});
    EXPECT_TRUE(pair);
    pk.on_request_routed(prefill[pair->prefill].id(), decode[pair->decode].id(), t);
    return *pair;
  };
  const PdPair pa = route(a);
  const PdPair pb = route(b);
  EXPECT_NE(pa.prefill, pb.prefill) << "new prefixes spread over the prefill pool";
  Tokens a2 = a;
  a2.insert(a2.end(), {1, 2, 3});
  EXPECT_EQ(route(a2).prefill, pa.prefill) << "a prompt extending a goes where a was computed";
  Tokens b2 = b;
  b2.push_back(9);
  EXPECT_EQ(route(b2).prefill, pb.prefill);
}

TEST(PdPairPicker, RandomPolicyUsesEveryWorker) {
  PdPairPicker pk = picker("random", "random");
  auto prefill = pool("p", 3), decode = pool("d", 3);
  std::set<size_t> ps, ds;
  for (int i = 0; i < 200; ++i) {
    auto pair = pk.select(prefill, decode, {});
    ASSERT_TRUE(pair);
    ps.insert(pair->prefill);
    ds.insert(pair->decode);
  }
  EXPECT_EQ(ps.size(), 3u);
  EXPECT_EQ(ds.size(), 3u);
}

TEST(PdPairPicker, ConsistentHashKeepsASessionOnOnePair) {
  PdPairPicker pk = picker("consistent_hash", "consistent_hash");
  auto prefill = pool("p", 4), decode = pool("d", 4);
  RouteRequest r;
  r.routing_key = "session-42";
  auto first = pk.select(prefill, decode, r);
  ASSERT_TRUE(first);
  for (int i = 0; i < 10; ++i) {
    auto again = pk.select(prefill, decode, r);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->prefill, first->prefill);
    EXPECT_EQ(again->decode, first->decode);
  }
}

TEST(PreferUntried, SkipsTriedWorkersUnlessNoneIsLeft) {
  auto ws = pool("p", 3);
  auto fresh = prefer_untried(ws, {"pw0", "pw2"});
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].id(), "pw1");
  EXPECT_EQ(prefer_untried(ws, {"pw0", "pw1", "pw2"}).size(), 3u) << "all tried: all again";
}

TEST(BootstrapRooms, RoomsAreNonNegativeAndUniqueAmongLiveLeases) {
  BootstrapRooms rooms(/*seed=*/1);
  std::vector<RoomLease> live;
  std::set<int32_t> ids;
  for (int i = 0; i < 5000; ++i) {
    live.push_back(rooms.acquire());
    EXPECT_GE(live.back().room(), 0);
    EXPECT_TRUE(ids.insert(live.back().room()).second) << "room " << live.back().room() << " reused";
  }
  EXPECT_EQ(rooms.live(), 5000u);
  live.erase(live.begin(), live.begin() + 1000);
  EXPECT_EQ(rooms.live(), 4000u) << "a destroyed lease frees its room";
  RoomLease moved = std::move(live.back());
  live.pop_back();
  EXPECT_EQ(rooms.live(), 4000u) << "moving a lease keeps it live";
  moved.reset();
  EXPECT_EQ(rooms.live(), 3999u);
  EXPECT_FALSE(moved.active());
}

TEST(BootstrapRooms, ConcurrentAcquirersNeverShareARoom) {
  BootstrapRooms rooms;
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::vector<RoomLease>> held(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) held[t].push_back(rooms.acquire());
    });
  }
  for (auto& t : ts) t.join();
  std::set<int32_t> ids;
  for (auto& v : held) {
    for (auto& l : v) ids.insert(l.room());
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kEach});
}

TEST(BootstrapEndpoint, HostOfTheWorkerAndThePortPrecedence) {
  EXPECT_EQ(bootstrap_host("10.0.0.5:50051"), "10.0.0.5");
  EXPECT_EQ(bootstrap_host("grpc://worker-3.local:7000"), "worker-3.local");
  EXPECT_EQ(bootstrap_host("[::1]:7000"), "::1");
  EXPECT_EQ(bootstrap_host("::1"), "::1");
  EXPECT_EQ(resolve_bootstrap_port(9100, 9200), 9100);
  EXPECT_EQ(resolve_bootstrap_port(std::nullopt, 9200), 9200);
  EXPECT_EQ(resolve_bootstrap_port(std::nullopt, std::nullopt), kDefaultBootstrapPort);
  EXPECT_EQ(parse_port("8998"), 8998);
  EXPECT_EQ(parse_port("8998.0"), 8998);
  EXPECT_FALSE(parse_port("0").has_value());
  EXPECT_FALSE(parse_port("70000").has_value());
  EXPECT_FALSE(parse_port("12ab").has_value());
  EXPECT_FALSE(parse_port("").has_value());
}

TEST(PdReadiness, NeedsAHealthyPrefillAndDecodePairInPdMode) {
  WorkerRegistry r;
  ASSERT_TRUE(r.add({.id = "p", .url = "h:1", .role = WorkerRole::kPrefill, .bootstrap_port = 9000}).ok());
  ASSERT_TRUE(r.add({.id = "d", .url = "h:2", .role = WorkerRole::kDecode}).ok());
  ASSERT_TRUE(r.add({.id = "m", .url = "h:3", .role = WorkerRole::kMixed}).ok());
  auto pass = [&](const std::string& id) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(r.mark_health(id, {.ok = true}).ok());
  };
  auto fail = [&](const std::string& id) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(r.mark_health(id, {.ok = false}).ok());
  };
  pass("m");
  EXPECT_TRUE(r.ready_for(false));
  EXPECT_FALSE(r.ready_for(true)) << "a mixed worker does not make a PD gateway ready";
  pass("p");
  EXPECT_FALSE(r.ready_for(true)) << "prefill alone";
  pass("d");
  EXPECT_TRUE(r.ready_for(true));
  fail("p");
  EXPECT_FALSE(r.ready_for(true)) << "decode alone";
  fail("m");
  EXPECT_FALSE(r.ready_for(false));
}

}  // namespace
}  // namespace tandem::gateway::routing
