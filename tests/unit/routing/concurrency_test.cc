// Request threads route through the registry and every policy while a "health checker" thread
// changes the fleet. Meant for the TSan build (TANDEM_SANITIZE=thread); in a plain build it still
// checks that selections stay in range and in-flight counts return to zero.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gateway/routing/policies/routing_policy.h"
#include "gateway/routing/worker_registry.h"

namespace tandem::gateway::routing {
namespace {

TEST(RoutingConcurrencyTest, RequestThreadsAndHealthCheckerRace) {
  for (std::string_view name :
       {"round_robin", "random", "power_of_two", "cache_aware", "consistent_hash"}) {
    RegistryConfig rc;
    rc.health.initially_healthy = true;
    WorkerRegistry registry(rc);
    PolicyConfig pc;
    pc.seed = 1;
    pc.cache_aware.eviction_interval = std::chrono::seconds(0);  // sweep on every request
    auto policy = make_routing_policy(name, pc);
    ASSERT_TRUE(policy.ok());
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(registry.add({.id = "w" + std::to_string(i), .url = "h:" + std::to_string(i)}).ok());
    }
    std::atomic<bool> stop{false};
    std::atomic<int64_t> routed{0};
    std::thread checker([&] {
      for (int round = 0; !stop.load(); ++round) {
        std::string id = "w" + std::to_string(round % 4);
        (void)registry.mark_health(id, {.ok = round % 3 != 0});
        (void)registry.update_load(id, {.running = round % 50});
        if (round % 7 == 0) {
          (void)registry.remove("w3");
          (*policy)->on_worker_removed("w3");
          (void)registry.add({.id = "w3", .url = "h:3"});
        }
      }
    });
    std::vector<std::thread> requests;
    for (int t = 0; t < 4; ++t) {
      requests.emplace_back([&, t] {
        for (int i = 0; i < 2000; ++i) {
          std::vector<int32_t> tokens = {t, i % 13, i % 7, i};
          std::string key = "user-" + std::to_string(i % 17);
          auto candidates = registry.healthy(WorkerRole::kMixed);
          auto idx = (*policy)->select(candidates, {.tokens = tokens, .routing_key = key});
          if (!idx) {
            ASSERT_TRUE(candidates.empty());
            continue;
          }
          ASSERT_LT(*idx, candidates.size());
          const std::string& id = candidates[*idx].id();
          (*policy)->on_request_routed(id, tokens);
          auto ticket = registry.begin_request(id);  // may be gone: removed meanwhile
          (void)registry.record_request_result(id, i % 5 != 0);
          routed.fetch_add(1);
        }
      });
    }
    for (auto& th : requests) th.join();
    stop = true;
    checker.join();
    EXPECT_GT(routed.load(), 0) << name;
    for (const auto& w : registry.list()) EXPECT_EQ(w.in_flight, 0) << name << " " << w.id();
  }
}

}  // namespace
}  // namespace tandem::gateway::routing
