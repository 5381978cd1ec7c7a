// A scheduler + fake model + pool, stepped like the engine would, checking invariants every step.
#pragma once

#include <chrono>
#include <map>

#include "tests/unit/scheduler/scheduler_test_support.h"

namespace tandem::scheduler::testing {

struct Harness {
  explicit Harness(int32_t pool, SchedulerConfig config = {}) : alloc(pool), model(pool) {
    auto s = Scheduler::create(alloc, std::move(config));
    EXPECT_TRUE(s.ok()) << s.status().message();
    sched = std::move(s).value();
  }
  StepPlan plan() {
    now += std::chrono::milliseconds(1);
    StepPlan p = sched->plan_step(now);
    sched->check_invariants();
    return p;
  }
  void complete(const StepPlan& p) {
    std::vector<int32_t> sampled = model.run(p);
    sched->complete_step(p, sampled, now);
    sched->check_invariants();
    collect();
  }
  StepPlan step() {
    StepPlan p = plan();
    complete(p);
    return p;
  }
  void collect() {
    for (RequestResult& r : sched->take_results()) {
      EXPECT_EQ(results.count(r.id), 0u) << "second terminal result for " << r.id;
      EXPECT_GE(r.e2e_latency.count(), 0) << r.id;
      results[r.id] = std::move(r);
    }
  }
  int run_until_idle(int max_steps = 10000) {
    int n = 0;
    while (!sched->idle() && n < max_steps) {
      step();
      ++n;
    }
    EXPECT_TRUE(sched->idle()) << "not idle after " << max_steps << " steps";
    collect();
    return n;
  }
  void expect_pool_full() {
    sched->flush_cache();
    sched->check_invariants();
    EXPECT_EQ(alloc.num_free(), alloc.num_slots());
  }

  SlotAllocator alloc;
  std::unique_ptr<Scheduler> sched;
  FakeModel model;
  TimePoint now{};
  std::map<std::string, RequestResult> results;
};

inline SchedulerConfig config_with(int32_t max_running, int32_t chunk, int32_t page = 1,
                                   std::string policy = "fcfs") {
  SchedulerConfig c;
  c.page_size = page;
  c.policy = std::move(policy);
  c.limits.max_running_requests = max_running;
  c.limits.max_prefill_tokens_per_step = chunk;
  return c;
}

}  // namespace tandem::scheduler::testing
