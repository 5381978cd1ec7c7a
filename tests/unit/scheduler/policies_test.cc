// Admission-order policies: fcfs/priority tie-breaking, lpm against a real RadixCache (shared
// prefixes, extra_key isolation, recorded match fields, the >128 fallback), preemption candidates,
// and the factory's error message.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "scheduler/policies/fcfs_policy.h"
#include "scheduler/policies/lpm_policy.h"
#include "scheduler/policies/policy_factory.h"
#include "scheduler/policies/priority_policy.h"
#include "scheduler/radix_cache.h"

namespace tandem::scheduler {
namespace {

using std::chrono::seconds;
using Tokens = std::vector<int32_t>;
using Ids = std::vector<std::string>;
const TimePoint kT0 = TimePoint{} + seconds(1000);

struct Pool {
  std::vector<std::unique_ptr<Request>> owned;
  Request* add(std::string id, int arrival_s, int priority = 0, Tokens prompt = {1},
               std::string extra_key = {}) {
    auto r = std::make_unique<Request>(std::move(id), std::move(prompt), sampling::SamplingParams{},
                                       kT0 + seconds(arrival_s));
    r->priority = priority;
    r->extra_key = std::move(extra_key);
    owned.push_back(std::move(r));
    return owned.back().get();
  }
  // All requests, in a scrambled order so a policy that merely keeps the input order fails.
  std::vector<Request*> scrambled() const {
    std::vector<Request*> out;
    for (auto& r : owned) out.push_back(r.get());
    std::reverse(out.begin(), out.end());
    if (out.size() > 2) std::rotate(out.begin(), out.begin() + 1, out.end());
    return out;
  }
};

Ids ids(const std::vector<Request*>& rs) {
  Ids out;
  for (auto* r : rs) out.push_back(r->id);
  return out;
}

Tokens iota(int32_t base, size_t n) {
  Tokens t(n);
  std::iota(t.begin(), t.end(), base);
  return t;
}

RadixCache make_cache(int32_t page = 1) {
  return RadixCache(page, [](std::span<const int32_t>) {});
}

TEST(FcfsPolicyTest, ArrivalOrderTiesById) {
  Pool p;
  p.add("c", 5);
  p.add("b", 1, /*priority=*/9);  // fcfs ignores priority
  p.add("z", 3);
  p.add("a", 3);  // same arrival as z: id decides
  auto cache = make_cache();
  auto w = p.scrambled();
  FcfsPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"b", "a", "z", "c"}));
}

TEST(PriorityPolicyTest, HigherPriorityFirstThenArrivalThenId) {
  Pool p;
  p.add("old_low", 0, 1);
  p.add("new_high", 9, 5);
  p.add("old_high", 2, 5);
  p.add("tie_b", 4, 3);
  p.add("tie_a", 4, 3);
  p.add("negative", 0, -2);
  auto cache = make_cache();
  auto w = p.scrambled();
  PriorityPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"old_high", "new_high", "tie_a", "tie_b", "old_low", "negative"}));
}

TEST(PriorityPolicyTest, EqualPrioritiesAreFcfs) {
  Pool p;
  for (int i = 0; i < 6; ++i) p.add("r" + std::to_string(i), 10 - i, 7);
  auto cache = make_cache();
  auto w = p.scrambled();
  PriorityPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"r5", "r4", "r3", "r2", "r1", "r0"}));
}

TEST(LpmPolicyTest, LongestCachedPrefixFirstAndFieldsRecorded) {
  auto cache = make_cache();
  Tokens shared = iota(100, 8);
  ASSERT_EQ(cache.insert(shared, iota(1000, 8)), 0);
  Pool p;
  Tokens long_hit = shared;  // all 8 cached, plus 2 new
  long_hit.insert(long_hit.end(), {1, 2});
  Tokens short_hit(shared.begin(), shared.begin() + 3);  // diverges after 3
  short_hit.insert(short_hit.end(), {55, 56, 57});
  p.add("miss_early", 0, 0, iota(500, 6));
  p.add("short", 1, 0, short_hit);
  p.add("long", 2, 0, long_hit);
  p.add("miss_late", 3, 0, iota(600, 6));
  auto w = p.scrambled();
  LpmPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"long", "short", "miss_early", "miss_late"}));
  EXPECT_EQ(w[0]->matched_prefix_len, 8);
  EXPECT_EQ(w[0]->prefix_slots, iota(1000, 8));
  ASSERT_NE(w[0]->last_node, nullptr);
  EXPECT_FALSE(w[0]->last_node->is_root());
  EXPECT_EQ(w[1]->matched_prefix_len, 3);
  EXPECT_EQ(w[1]->prefix_slots, iota(1000, 3));
  EXPECT_EQ(w[2]->matched_prefix_len, 0);
  EXPECT_TRUE(w[2]->prefix_slots.empty());
  cache.check_invariants();
}

TEST(LpmPolicyTest, PageAlignedMatchLengths) {
  auto cache = make_cache(/*page=*/4);
  ASSERT_EQ(cache.insert(iota(0, 12), iota(100, 12)), 0);
  Pool p;
  Tokens six = iota(0, 6);
  six.push_back(99);  // diverges at 6 -> 4 matched (page-aligned)
  p.add("four", 0, 0, six);
  p.add("twelve", 1, 0, iota(0, 13));  // 12 matched
  auto w = p.scrambled();
  LpmPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"twelve", "four"}));
  EXPECT_EQ(w[0]->matched_prefix_len, 12);
  EXPECT_EQ(w[1]->matched_prefix_len, 4);
}

TEST(LpmPolicyTest, ExtraKeyIsolatesNamespaces) {
  auto cache = make_cache();
  Tokens prompt = iota(10, 6);
  ASSERT_EQ(cache.insert(prompt, iota(0, 6), "lora-a"), 0);
  Pool p;
  p.add("default_ns", 0, 0, prompt);          // same tokens, default namespace: no hit
  p.add("other_ns", 1, 0, prompt, "lora-b");  // another adapter: no hit
  p.add("same_ns", 2, 0, prompt, "lora-a");   // the namespace that cached it
  auto w = p.scrambled();
  LpmPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"same_ns", "default_ns", "other_ns"}));
  EXPECT_EQ(w[0]->matched_prefix_len, 6);
  EXPECT_EQ(w[1]->matched_prefix_len, 0);
  EXPECT_EQ(w[2]->matched_prefix_len, 0);
}

TEST(LpmPolicyTest, EqualMatchesFallBackToArrivalThenId) {
  auto cache = make_cache();
  ASSERT_EQ(cache.insert(iota(0, 4), iota(0, 4)), 0);
  Pool p;
  p.add("late", 9, 0, iota(0, 5));
  p.add("b", 1, 0, iota(0, 6));
  p.add("a", 1, 0, iota(0, 7));
  auto w = p.scrambled();
  LpmPolicy().order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"a", "b", "late"}));
}

// With more than kLpmFallbackQueueLen waiting requests lpm orders by arrival and matches nothing;
// at exactly the threshold it still matches.
TEST(LpmPolicyTest, FallsBackToFcfsAboveThreshold) {
  ASSERT_EQ(kLpmFallbackQueueLen, 128u);
  auto cache = make_cache();
  ASSERT_EQ(cache.insert(iota(0, 4), iota(0, 4)), 0);
  for (size_t n : {kLpmFallbackQueueLen, kLpmFallbackQueueLen + 1}) {
    Pool p;
    for (size_t i = 0; i < n; ++i) {
      // The last arrival is the only cache hit.
      Tokens prompt = (i + 1 == n) ? iota(0, 5) : iota(1000 + static_cast<int32_t>(i) * 10, 5);
      p.add("r" + std::to_string(1000 + i), static_cast<int>(i), 0, prompt);
    }
    auto w = p.scrambled();
    LpmPolicy().order(w, cache);
    Request* hit = p.owned.back().get();
    if (n <= kLpmFallbackQueueLen) {
      EXPECT_EQ(w.front(), hit) << "n=" << n;
      EXPECT_EQ(hit->matched_prefix_len, 4);
    } else {
      EXPECT_EQ(w.back(), hit) << "n=" << n;
      EXPECT_EQ(hit->matched_prefix_len, 0) << "fallback must not match";
      EXPECT_EQ(hit->last_node, nullptr);
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(w[i], p.owned[i].get()) << i;
    }
  }
  // A custom threshold is honoured the same way.
  Pool p;
  p.add("miss", 0, 0, iota(500, 5));
  p.add("hit", 1, 0, iota(0, 5));
  auto w = p.scrambled();
  LpmPolicy(/*fallback_queue_len=*/1).order(w, cache);
  EXPECT_EQ(ids(w), (Ids{"miss", "hit"}));
}

TEST(PreemptionTest, LowestPriorityNewestFirstOnlyStrictlyLower) {
  Pool p;
  Request* old_p1 = p.add("old_p1", 0, 1);
  Request* new_p1 = p.add("new_p1", 5, 1);
  Request* p0 = p.add("p0", 3, 0);
  p.add("p5", 1, 5);  // equal to incoming: never preempted
  p.add("p9", 2, 9);  // higher: never preempted
  Request* incoming = p.add("incoming", 10, 5);
  std::vector<Request*> running;
  for (auto& r : p.owned) {
    if (r.get() != incoming) running.push_back(r.get());
  }
  auto got = preemption_candidates(running, *incoming);
  EXPECT_EQ(got, (std::vector<Request*>{p0, new_p1, old_p1}));
  // threshold 4: only a priority gap above 4 qualifies -> p0 (gap 5), not the p1s (gap 4).
  EXPECT_EQ(preemption_candidates(running, *incoming, 4), (std::vector<Request*>{p0}));
  EXPECT_TRUE(preemption_candidates(running, *incoming, 5).empty());
  // Extreme priorities do not overflow the gap computation.
  Request* floor = p.add("floor", 0, INT32_MIN);
  Request* top = p.add("top", 0, INT32_MAX);
  std::vector<Request*> one{floor};
  EXPECT_EQ(preemption_candidates(one, *top), one);
}

TEST(PolicyFactoryTest, BuildsEveryNamedPolicy) {
  for (std::string_view name : policy_names()) {
    auto policy = make_policy(name);
    ASSERT_TRUE(policy.ok()) << policy.status().to_string();
    EXPECT_EQ((*policy)->name(), name);
  }
  EXPECT_EQ(policy_names().size(), 3u);
}

TEST(PolicyFactoryTest, UnknownNameListsValidOnes) {
  for (std::string_view bad : {"", "FCFS", "lof", "dfs-weight"}) {
    auto policy = make_policy(bad);
    ASSERT_FALSE(policy.ok()) << bad;
    EXPECT_EQ(policy.status().code(), StatusCode::kInvalidArgument);
    const std::string msg = policy.status().message();  // status() returns a copy
    EXPECT_NE(msg.find("'" + std::string(bad) + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fcfs, lpm, priority"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace tandem::scheduler
