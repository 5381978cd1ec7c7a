// Scheduler entry points for disaggregated decode: a reservation holds slots (counted by the
// invariant check), add_prefilled continues from KV written elsewhere with output equal to a local
// prefill, the prompt lands in the radix cache, a full pool refuses reservations, and cancel /
// abort give every slot back exactly once.
#include <gtest/gtest.h>

#include "tests/unit/scheduler/scheduler_test_support.h"

namespace tandem::scheduler::testing {
namespace {

struct PdHarness {
  explicit PdHarness(int32_t slots, int32_t page = 1, int32_t max_running = 8) : alloc(slots), kv(slots, -1) {
    SchedulerConfig c;
    c.page_size = page;
    c.limits.max_running_requests = max_running;
    sched = std::move(Scheduler::create(alloc, c).value());
  }
  // Runs steps until idle; the fake KV of a slot is the token written there.
  void run_to_idle() {
    for (int i = 0; i < 10000 && !sched->idle(); ++i) {
      StepPlan plan = sched->plan_step();
      std::vector<int32_t> sampled;
      for (const PlannedSequence& s : plan.sequences) {
        for (size_t j = 0; j < s.new_tokens.size(); ++j) kv[s.context_slots[s.position_start + j]] = s.new_tokens[j];
        if (!s.needs_logits) continue;
        std::vector<int32_t> ctx;
        for (int32_t slot : s.context_slots) ctx.push_back(kv[slot]);
        sampled.push_back(next_token(ctx));
      }
      sched->complete_step(plan, sampled);
      sched->check_invariants();
    }
  }
  SlotAllocator alloc;
  std::vector<int32_t> kv;
  std::unique_ptr<Scheduler> sched;
};

TEST(SchedulerPd, PrefilledRequestDecodesLikeALocalOne) {
  for (int32_t page : {1, 4}) {
    PdHarness h(256, page);
    const std::vector<int32_t> prompt = iota_prompt(21, 100);
    const std::vector<int32_t>* slots = h.sched->reserve("a", 21);
    ASSERT_NE(slots, nullptr);
    EXPECT_EQ(h.alloc.num_free(), 256 - 21);
    h.sched->check_invariants();  // reserved slots are accounted for
    for (size_t i = 0; i < prompt.size(); ++i) h.kv[(*slots)[i]] = prompt[i];  // "the transfer"
    const int32_t first = next_token(prompt);
    ASSERT_TRUE(h.sched->add_prefilled(make_request("a", prompt, 9), first, 5).ok());
    EXPECT_EQ(h.sched->reservation("a"), nullptr);
    h.sched->check_invariants();
    // The prompt is in the radix cache (page-aligned part).
    EXPECT_EQ(h.sched->cache().cached_tokens(), 21 / page * page);
    h.run_to_idle();
    std::vector<RequestResult> res = h.sched->take_results();
    ASSERT_EQ(res.size(), 1u);
    EXPECT_EQ(res[0].output, reference_output(prompt, 9));
    EXPECT_EQ(res[0].cached_tokens, 5);
    EXPECT_EQ(res[0].finish_reason, FinishReason::kLength);
    h.sched->flush_cache();
    EXPECT_EQ(h.alloc.num_free(), 256);
  }
}

TEST(SchedulerPd, FirstTokenCanFinishTheRequest) {
  PdHarness h(64);
  const std::vector<int32_t> prompt = iota_prompt(6, 1);
  const std::vector<int32_t>* slots = h.sched->reserve("one", 6);
  ASSERT_NE(slots, nullptr);
  ASSERT_TRUE(h.sched->add_prefilled(make_request("one", prompt, 1), 77, 0).ok());
  std::vector<RequestResult> res = h.sched->take_results();
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].output, std::vector<int32_t>{77});
  EXPECT_TRUE(h.sched->idle());
  h.sched->check_invariants();
  h.sched->flush_cache();
  EXPECT_EQ(h.alloc.num_free(), 64);
}

TEST(SchedulerPd, FullPoolRefusesAndCancelFreesExactlyOnce) {
  PdHarness h(40, 1, 3);
  ASSERT_NE(h.sched->reserve("a", 30), nullptr);
  EXPECT_EQ(h.sched->reserve("b", 20), nullptr);  // 10 free
  ASSERT_NE(h.sched->reserve("c", 10), nullptr);
  EXPECT_EQ(h.alloc.num_free(), 0);
  EXPECT_TRUE(h.sched->cancel_reservation("a"));
  EXPECT_FALSE(h.sched->cancel_reservation("a"));
  ASSERT_NE(h.sched->reserve("b", 20), nullptr);
  ASSERT_NE(h.sched->reserve("d", 1), nullptr);
  EXPECT_EQ(h.sched->reserve("e", 1), nullptr);  // running + reservations at max_running_requests
  EXPECT_EQ(h.sched->num_reservations(), 3);
  h.sched->check_invariants();
  // A prompt longer than the reservation is refused without touching it.
  EXPECT_EQ(h.sched->add_prefilled(make_request("d", iota_prompt(2, 1), 4), 1, 0).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(h.sched->cancel_reservation("b"));
  EXPECT_TRUE(h.sched->cancel_reservation("c"));
  EXPECT_TRUE(h.sched->cancel_reservation("d"));
  h.sched->check_invariants();
  EXPECT_EQ(h.alloc.num_free(), 40);
}

TEST(SchedulerPd, AbortWhileDecodingAndDestructionReturnEverything) {
  SlotAllocator alloc(128);
  {
    PdHarness h(128);
    const std::vector<int32_t> prompt = iota_prompt(16, 3);
    const std::vector<int32_t>* slots = h.sched->reserve("x", 16);
    ASSERT_NE(slots, nullptr);
    ASSERT_TRUE(h.sched->add_prefilled(make_request("x", prompt, 50), 5, 0).ok());
    StepPlan p = h.sched->plan_step();
    ASSERT_EQ(p.sequences.size(), 1u);
    EXPECT_TRUE(p.sequences[0].is_decode);
    EXPECT_EQ(p.sequences[0].new_tokens, std::vector<int32_t>{5});
    EXPECT_EQ(p.sequences[0].position_start, 16);
    h.sched->complete_step(p, std::vector<int32_t>{6});
    ASSERT_TRUE(h.sched->abort("x").ok());
    h.sched->check_invariants();
    ASSERT_NE(h.sched->reserve("left-over", 7), nullptr);  // released by the destructor
  }
}

}  // namespace
}  // namespace tandem::scheduler::testing
