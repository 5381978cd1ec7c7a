// Abort at every stage and timeouts: one terminal result each, KV back in the pool.
#include <gtest/gtest.h>

#include "tests/unit/scheduler/scheduler_harness.h"

namespace tandem::scheduler::testing {
namespace {

using std::chrono::milliseconds;

TEST(SchedulerAbort, EveryStage) {
  Harness h(256, config_with(2, 4));
  // Distinct arrivals: fcfs admits in this order.
  const TimePoint t0 = h.now;
  ASSERT_TRUE(h.sched->add(make_request("decoding", iota_prompt(3, 1), 50, t0), h.now).ok());
  const auto at = [&](int ms) { return t0 + milliseconds(ms); };
  ASSERT_TRUE(h.sched->add(make_request("chunking", iota_prompt(12, 100), 50, at(1)), h.now).ok());
  ASSERT_TRUE(h.sched->add(make_request("queued", iota_prompt(3, 200), 50, at(2)), h.now).ok());
  ASSERT_TRUE(h.sched->add(make_request("inflight", iota_prompt(3, 300), 50, at(3)), h.now).ok());
  h.step();  // decoding: prefilled (3), chunking: 1 token of its 12
  h.step();  // chunking: 4 more
  EXPECT_EQ(h.sched->load().running, 2);
  EXPECT_TRUE(h.sched->abort("queued", h.now).ok());
  EXPECT_TRUE(h.sched->abort("chunking", h.now).ok());  // mid chunked prefill
  h.step();
  EXPECT_TRUE(h.sched->abort("decoding", h.now).ok());
  h.collect();
  EXPECT_EQ(h.sched->abort("decoding", h.now).code(), StatusCode::kNotFound);  // only once
  // Abort between plan and complete: the sampled token is dropped, the KV released once.
  StepPlan p = h.plan();
  ASSERT_FALSE(p.empty());
  EXPECT_EQ(p.sequences.back().request_id, "inflight");
  EXPECT_TRUE(h.sched->abort("inflight", h.now).ok());
  h.sched->check_invariants();
  h.complete(p);
  for (const char* id : {"queued", "chunking", "decoding", "inflight"}) {
    ASSERT_EQ(h.results.count(id), 1u) << id;
    EXPECT_EQ(h.results[id].finish_reason, FinishReason::kAbort) << id;
  }
  EXPECT_FALSE(h.results["decoding"].output.empty());
  EXPECT_TRUE(h.results["queued"].output.empty());
  EXPECT_TRUE(h.sched->idle());
  h.expect_pool_full();
}

TEST(SchedulerAbort, AbortAllWithManyInFlight) {
  Harness h(512, config_with(32, 64, 2));
  for (int i = 0; i < 40; ++i) {
    auto prompt = iota_prompt(6, 0);  // shared prefix across requests
    prompt.push_back(1000 + i);
    ASSERT_TRUE(h.sched->add(make_request("r" + std::to_string(i), prompt, 30)).ok());
  }
  for (int s = 0; s < 5; ++s) h.step();
  for (int i = 0; i < 40; ++i) EXPECT_TRUE(h.sched->abort("r" + std::to_string(i), h.now).ok());
  h.collect();
  EXPECT_EQ(h.results.size(), 40u);
  EXPECT_TRUE(h.sched->idle());
  h.expect_pool_full();
  // Still healthy: a new request runs to the reference output.
  ASSERT_TRUE(h.sched->add(make_request("after", iota_prompt(7, 3), 4)).ok());
  h.run_until_idle();
  EXPECT_EQ(h.results["after"].output, reference_output(iota_prompt(7, 3), 4));
}

TEST(SchedulerTimeout, WaitingAndRunning) {
  Harness h(256, config_with(1, 64));
  auto run = make_request("runner", iota_prompt(4, 1), 200, h.now);
  run->running_timeout = milliseconds(10);
  ASSERT_TRUE(h.sched->add(std::move(run), h.now).ok());
  auto wait = make_request("waiter", iota_prompt(4, 50), 5, h.now + milliseconds(1));
  wait->waiting_timeout = milliseconds(5);
  ASSERT_TRUE(h.sched->add(std::move(wait), h.now).ok());
  auto patient = make_request("patient", iota_prompt(4, 90), 3, h.now + milliseconds(2));
  ASSERT_TRUE(h.sched->add(std::move(patient), h.now).ok());
  for (int i = 0; i < 4; ++i) h.step();  // 1 ms per step: nothing expired yet
  EXPECT_TRUE(h.results.empty());
  h.run_until_idle();
  EXPECT_EQ(h.results["waiter"].finish_reason, FinishReason::kWaitingTimeout);
  EXPECT_EQ(h.results["runner"].finish_reason, FinishReason::kRunningTimeout);
  EXPECT_FALSE(h.results["runner"].output.empty());
  EXPECT_EQ(h.results["patient"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(h.results["patient"].output, reference_output(iota_prompt(4, 90), 3));
  h.expect_pool_full();
}

}  // namespace
}  // namespace tandem::scheduler::testing
