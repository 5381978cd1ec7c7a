// Randomized: arrivals with shared prefixes, aborts at random stages, a tiny pool, several page
// sizes and policies. Invariants every step; every request gets exactly one result; finished
// outputs equal the reference; the pool is full again at the end.
#include <gtest/gtest.h>

#include <random>

#include "tests/unit/scheduler/scheduler_harness.h"

namespace tandem::scheduler::testing {
namespace {

// Returns how many retractions happened, so the callers can check the pool was really tight.
int stress(uint32_t seed, int32_t page, const std::string& policy) {
  std::mt19937 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Harness h(96, config_with(uni(1, 8), uni(3, 40), page, policy));
  std::vector<std::vector<int32_t>> prefixes;
  for (int i = 0; i < 4; ++i) prefixes.push_back(iota_prompt(uni(1, 20), 1000 * i));
  std::map<std::string, std::pair<std::vector<int32_t>, int32_t>> sent;
  std::vector<std::string> live;
  int next = 0;
  for (int step = 0; step < 400; ++step) {
    for (int k = uni(0, 2); k > 0 && next < 150; --k) {
      std::vector<int32_t> prompt = prefixes[uni(0, 3)];
      for (int t = uni(0, 12); t > 0; --t) prompt.push_back(uni(0, kVocab - 1));
      if (prompt.empty()) prompt.push_back(7);
      const int32_t max_new = uni(1, 30);
      std::string id = "q" + std::to_string(next++);
      auto req = make_request(id, prompt, max_new);
      req->priority = uni(0, 3);
      Status st = h.sched->add(std::move(req), h.now);
      EXPECT_TRUE(st.ok()) << st.message();
      sent[id] = {prompt, max_new};
      live.push_back(id);
    }
    StepPlan p = h.plan();
    if (uni(0, 9) == 0 && !live.empty()) {  // abort something, maybe mid-step
      const std::string id = live[uni(0, static_cast<int>(live.size()) - 1)];
      (void)h.sched->abort(id, h.now);
      h.sched->check_invariants();
    }
    if (uni(0, 30) == 0) h.sched->flush_cache();
    h.complete(p);
  }
  h.run_until_idle();
  EXPECT_EQ(h.results.size(), sent.size());
  int finished = 0, aborted = 0, retractions = 0;
  for (const auto& [id, r] : h.results) {
    retractions += r.preemptions;
    if (r.finish_reason == FinishReason::kAbort) {
      ++aborted;
      continue;
    }
    EXPECT_EQ(r.finish_reason, FinishReason::kLength) << id;
    EXPECT_EQ(r.output, reference_output(sent[id].first, sent[id].second)) << id;
    ++finished;
  }
  EXPECT_GT(finished, 50);
  EXPECT_GT(aborted, 5);
  h.expect_pool_full();
  return retractions;
}

TEST(SchedulerStress, FcfsPage1) { EXPECT_GT(stress(1, 1, "fcfs"), 0); }
TEST(SchedulerStress, LpmPage4) { stress(2, 4, "lpm"); }
TEST(SchedulerStress, PriorityPage2) { stress(3, 2, "priority"); }
TEST(SchedulerStress, ManySeeds) {
  int retractions = 0;
  for (uint32_t s = 10; s < 16; ++s) {
    retractions += stress(s, 1 + static_cast<int32_t>(s % 3), "lpm");
  }
  EXPECT_GT(retractions, 0);
}

}  // namespace
}  // namespace tandem::scheduler::testing
