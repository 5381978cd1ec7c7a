#include <gtest/gtest.h>

#include "tests/unit/scheduler/scheduler_harness.h"

namespace tandem::scheduler::testing {
namespace {

TEST(Scheduler, SingleRequestMatchesReferenceAndFreesPool) {
  Harness h(64, config_with(4, 64));
  auto prompt = iota_prompt(7, 10);
  ASSERT_TRUE(h.sched->add(make_request("a", prompt, 5), h.now).ok());
  StepPlan first = h.step();
  ASSERT_EQ(first.sequences.size(), 1u);
  EXPECT_EQ(first.sequences[0].new_tokens, prompt);
  EXPECT_TRUE(first.sequences[0].needs_logits);
  EXPECT_FALSE(first.sequences[0].is_decode);
  h.run_until_idle();
  ASSERT_EQ(h.results.count("a"), 1u);
  EXPECT_EQ(h.results["a"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(h.results["a"].output, reference_output(prompt, 5));
  EXPECT_TRUE(h.results["a"].time_to_first_token.has_value());
  h.expect_pool_full();
}

TEST(Scheduler, ValidatesRequests) {
  SchedulerConfig c = config_with(4, 64);
  c.limits.max_context_len = 20;
  Harness h(64, c);
  EXPECT_EQ(h.sched->add(make_request("e", {}, 5)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.sched->add(make_request("z", {1}, 0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.sched->add(make_request("long", iota_prompt(16, 0), 5)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.sched->add(make_request("ok", iota_prompt(15, 0), 5)).ok());
  EXPECT_EQ(h.sched->add(make_request("ok", {1}, 1)).code(), StatusCode::kAlreadyExists);
  h.step();  // "ok" is running now: still a duplicate
  EXPECT_EQ(h.sched->add(make_request("ok", {1}, 1)).code(), StatusCode::kAlreadyExists);
  // A context limit above the pool is clamped to the pool.
  SchedulerConfig big = config_with(4, 64);
  big.limits.max_context_len = 1000;
  Harness small(32, big);
  EXPECT_EQ(small.sched->add(make_request("x", iota_prompt(30, 0), 3)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(Scheduler::create(h.alloc, config_with(0, 4)).ok());
  EXPECT_FALSE(Scheduler::create(h.alloc, config_with(4, 4, 1, "nope")).ok());
}

TEST(Scheduler, AdmissionRespectsMaxRunning) {
  Harness h(256, config_with(2, 1000));
  for (int i = 0; i < 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    ASSERT_TRUE(h.sched->add(make_request(id, iota_prompt(4, 100 * i), 3)).ok());
  }
  StepPlan p = h.step();
  EXPECT_EQ(p.sequences.size(), 2u);
  EXPECT_EQ(h.sched->load().running, 2);
  EXPECT_EQ(h.sched->load().waiting, 3);
  int max_seen = 0;
  while (!h.sched->idle()) {
    StepPlan q = h.step();
    max_seen = std::max(max_seen, static_cast<int>(q.sequences.size()));
  }
  EXPECT_EQ(max_seen, 2);
  EXPECT_EQ(h.results.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const std::string id = "r" + std::to_string(i);
    EXPECT_EQ(h.results[id].output, reference_output(iota_prompt(4, 100 * i), 3));
  }
  h.expect_pool_full();
}

TEST(Scheduler, ChunkedPrefillSpansSteps) {
  Harness h(64, config_with(4, 4));
  auto prompt = iota_prompt(10, 1);
  ASSERT_TRUE(h.sched->add(make_request("a", prompt, 2)).ok());
  StepPlan s1 = h.step();
  ASSERT_EQ(s1.sequences.size(), 1u);
  EXPECT_EQ(s1.sequences[0].new_tokens, iota_prompt(4, 1));
  EXPECT_FALSE(s1.sequences[0].needs_logits);
  EXPECT_EQ(s1.num_logit_rows(), 0);
  StepPlan s2 = h.step();
  EXPECT_EQ(s2.sequences[0].new_tokens, iota_prompt(4, 5));
  EXPECT_EQ(s2.sequences[0].position_start, 4);
  EXPECT_EQ(s2.sequences[0].context_slots.size(), 8u);
  EXPECT_FALSE(s2.sequences[0].needs_logits);
  StepPlan s3 = h.step();
  EXPECT_EQ(s3.sequences[0].new_tokens, iota_prompt(2, 9));
  EXPECT_TRUE(s3.sequences[0].needs_logits);
  h.run_until_idle();
  EXPECT_EQ(h.results["a"].output, reference_output(prompt, 2));
  h.expect_pool_full();
}

TEST(Scheduler, MixedBatchHasDecodesAndPrefillChunks) {
  Harness h(128, config_with(4, 8));
  ASSERT_TRUE(h.sched->add(make_request("short", iota_prompt(3, 1), 20)).ok());
  h.step();  // prefill of "short"
  ASSERT_TRUE(h.sched->add(make_request("long", iota_prompt(20, 50), 3)).ok());
  StepPlan p = h.step();
  ASSERT_EQ(p.sequences.size(), 2u);
  EXPECT_TRUE(p.sequences[0].is_decode);
  EXPECT_EQ(p.sequences[0].request_id, "short");
  EXPECT_EQ(p.sequences[1].request_id, "long");
  EXPECT_EQ(p.sequences[1].new_tokens.size(), 8u);  // chunk budget counts prompt tokens only
  EXPECT_EQ(p.num_logit_rows(), 1);
  h.run_until_idle();
  EXPECT_EQ(h.results["short"].output, reference_output(iota_prompt(3, 1), 20));
  EXPECT_EQ(h.results["long"].output, reference_output(iota_prompt(20, 50), 3));
  h.expect_pool_full();
}

TEST(Scheduler, PrefixReuseSkipsCachedTokens) {
  Harness h(256, config_with(4, 256, 4));
  auto shared = iota_prompt(16, 7);
  ASSERT_TRUE(h.sched->add(make_request("a", shared, 4)).ok());
  h.run_until_idle();
  auto longer = shared;
  longer.push_back(500);
  longer.push_back(501);
  ASSERT_TRUE(h.sched->add(make_request("b", longer, 4)).ok());
  StepPlan p = h.step();
  ASSERT_EQ(p.sequences.size(), 1u);
  EXPECT_EQ(p.sequences[0].position_start, 16);  // the 16 shared tokens came from the cache
  EXPECT_EQ(p.sequences[0].new_tokens, (std::vector<int32_t>{500, 501}));
  h.run_until_idle();
  EXPECT_EQ(h.results["b"].cached_tokens, 16);
  EXPECT_EQ(h.results["b"].output, reference_output(longer, 4));
  EXPECT_GT(h.sched->load().cache_hit_rate, 0.0);
  // A prompt fully in the cache still computes its last token (logits need one).
  ASSERT_TRUE(h.sched->add(make_request("c", shared, 2)).ok());
  StepPlan q = h.step();
  EXPECT_EQ(q.sequences[0].position_start, 12);
  h.run_until_idle();
  EXPECT_EQ(h.results["c"].output, reference_output(shared, 2));
  h.expect_pool_full();
}

// Prefill chunks enter the radix cache as soon as they are computed, so a request sharing the
// prefix reuses it while the first one is still running, and the hit is counted once.
TEST(Scheduler, InProgressPrefixIsSharedWhileRunning) {
  Harness h(256, config_with(4, 8, 4));
  auto a = iota_prompt(16, 3);
  ASSERT_TRUE(h.sched->add(make_request("a", a, 6)).ok());
  StepPlan s1 = h.step();  // a: tokens [0, 8)
  ASSERT_EQ(s1.sequences.size(), 1u);
  EXPECT_EQ(h.sched->cache().cached_tokens(), 8);
  auto b = std::vector<int32_t>(a.begin(), a.begin() + 10);
  b.push_back(900);
  ASSERT_TRUE(h.sched->add(make_request("b", b, 4)).ok());
  StepPlan s2 = h.step();  // a: [8, 16); b admitted with 8 cached tokens, budget 0 left
  ASSERT_EQ(s2.sequences.size(), 1u);
  StepPlan s3 = h.step();  // a decodes; b prefills [8, 11)
  ASSERT_EQ(s3.sequences.size(), 2u);
  EXPECT_EQ(s3.sequences[1].request_id, "b");
  EXPECT_EQ(s3.sequences[1].position_start, 8);
  h.run_until_idle();
  EXPECT_EQ(h.results["a"].output, reference_output(a, 6));
  EXPECT_EQ(h.results["b"].output, reference_output(b, 4));
  EXPECT_EQ(h.results["a"].cached_tokens, 0);
  EXPECT_EQ(h.results["b"].cached_tokens, 8);
  h.expect_pool_full();
}

TEST(Scheduler, PrefixCacheOffReusesNothing) {
  SchedulerConfig c = config_with(4, 256, 1);
  c.prefix_cache = false;
  Harness h(128, c);
  auto prompt = iota_prompt(16, 7);
  ASSERT_TRUE(h.sched->add(make_request("a", prompt, 4)).ok());
  h.run_until_idle();
  EXPECT_EQ(h.alloc.num_free(), 128);  // nothing was kept
  ASSERT_TRUE(h.sched->add(make_request("b", prompt, 4)).ok());
  StepPlan p = h.step();
  EXPECT_EQ(p.sequences[0].position_start, 0);
  h.run_until_idle();
  EXPECT_EQ(h.results["b"].cached_tokens, 0);
  EXPECT_EQ(h.results["b"].output, reference_output(prompt, 4));
  EXPECT_EQ(h.sched->load().cache_hit_rate, 0.0);
  h.expect_pool_full();
}

// Policy "priority": a more important arrival preempts a running lower-priority request (which
// resumes afterwards with its tokens); equal priorities never preempt each other.
TEST(Scheduler, PriorityPreemptsLowerPriorityRunning) {
  Harness h(256, config_with(1, 64, 1, "priority"));
  auto low_prompt = iota_prompt(6, 10);
  auto high_prompt = iota_prompt(5, 50);
  auto low = make_request("low", low_prompt, 8);
  low->priority = 0;
  ASSERT_TRUE(h.sched->add(std::move(low), h.now).ok());
  h.step();
  h.step();  // "low" is decoding
  auto same = make_request("same", iota_prompt(4, 90), 2);
  same->priority = 0;
  ASSERT_TRUE(h.sched->add(std::move(same), h.now).ok());
  StepPlan p = h.step();
  ASSERT_EQ(p.sequences.size(), 1u);
  EXPECT_EQ(p.sequences[0].request_id, "low");  // equal priority waits
  auto high = make_request("high", high_prompt, 3);
  high->priority = 5;
  ASSERT_TRUE(h.sched->add(std::move(high), h.now).ok());
  StepPlan q = h.step();
  ASSERT_EQ(q.sequences.size(), 1u);
  EXPECT_EQ(q.sequences[0].request_id, "high");
  h.run_until_idle();
  EXPECT_EQ(h.results["high"].output, reference_output(high_prompt, 3));
  EXPECT_EQ(h.results["low"].output, reference_output(low_prompt, 8));
  EXPECT_EQ(h.results["low"].preemptions, 1);
  EXPECT_EQ(h.results["same"].preemptions, 0);
  h.expect_pool_full();
}

TEST(Scheduler, RetractionUnderTinyPoolKeepsOutputs) {
  // 6 requests of 8 + 24 tokens each; a 64-slot pool cannot hold two of them at full length.
  Harness h(64, config_with(6, 64));
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(iota_prompt(8, 30 * i));
    ASSERT_TRUE(h.sched->add(make_request("r" + std::to_string(i), prompts.back(), 24)).ok());
  }
  h.run_until_idle();
  int preempted = 0;
  for (int i = 0; i < 6; ++i) {
    const RequestResult& r = h.results["r" + std::to_string(i)];
    EXPECT_EQ(r.finish_reason, FinishReason::kLength);
    EXPECT_EQ(r.output, reference_output(prompts[i], 24)) << i;
    preempted += r.preemptions;
  }
  EXPECT_GT(preempted, 0) << "the pool was meant to force retraction";
  h.expect_pool_full();
}

TEST(Scheduler, StopTokensEosAndIgnoreEos) {
  auto prompt = iota_prompt(5, 3);
  auto ref = reference_output(prompt, 10);
  SchedulerConfig c = config_with(4, 64);
  c.eos_token_ids = {ref[2]};
  Harness h(128, c);
  ASSERT_TRUE(h.sched->add(make_request("eos", prompt, 10)).ok());
  auto ign = make_request("ignore", prompt, 10);
  ign->params.ignore_eos = true;
  ASSERT_TRUE(h.sched->add(std::move(ign)).ok());
  auto stop = make_request("stop", prompt, 10);
  stop->params.ignore_eos = true;
  stop->params.stop_token_ids = {ref[4]};
  ASSERT_TRUE(h.sched->add(std::move(stop)).ok());
  auto minn = make_request("min", prompt, 10);
  minn->params.min_new_tokens = 4;
  ASSERT_TRUE(h.sched->add(std::move(minn)).ok());
  h.run_until_idle();
  EXPECT_EQ(h.results["eos"].finish_reason, FinishReason::kStop);
  EXPECT_EQ(h.results["eos"].output, std::vector<int32_t>(ref.begin(), ref.begin() + 3));
  EXPECT_EQ(h.results["ignore"].finish_reason, FinishReason::kLength);
  EXPECT_EQ(h.results["ignore"].output, ref);
  EXPECT_EQ(h.results["stop"].finish_reason, FinishReason::kStop);
  EXPECT_EQ(h.results["stop"].output.size(), 5u);
  // The eos at index 2 comes before min_new_tokens (4): it does not end the request.
  EXPECT_GE(h.results["min"].output.size(), 4u);
  h.expect_pool_full();
}

}  // namespace
}  // namespace tandem::scheduler::testing
