// The engine on the real default model: greedy output against the model's plain batched path,
// validation, abort at every stage, abort-all, timeouts, logprobs of aborted requests, retraction,
// parallel sampling and cache flushing (ACCEPTANCE items 1, 4–7).
#include <gtest/gtest.h>

#include <atomic>

#include "tests/unit/engine/engine_test_support.h"

namespace tandem::service::testing {
namespace {

using namespace std::chrono_literals;

TEST(Engine, GreedyMatchesThePlainBatchedForward) {
  EngineFixture f(4096);
  Collector c;
  const std::vector<int32_t> prompt = make_prompt(23, 1);
  c.expect("a");
  ASSERT_TRUE(f.engine->submit(EngineFixture::greedy("a", prompt, 12), c.sink()).ok());
  c.wait();
  const auto want = tandem::testing::greedy_batch(shared_model(), {prompt}, 12);
  const Outcome& o = c.at("a");
  EXPECT_EQ(o.final.tokens, want[0]);
  EXPECT_EQ(o.streamed, want[0]);
  EXPECT_EQ(o.final.finish, FinishReason::kLength);
  EXPECT_EQ(o.final.prompt_tokens, 23);
  EXPECT_EQ(o.final.completion_tokens, 12);
  EXPECT_TRUE(o.final.time_to_first_token.has_value());
  EXPECT_EQ(f.free_after_flush(), 4096);
}

TEST(Engine, RejectsBadRequestsWithoutCallingTheSink) {
  EngineFixture f(256);
  std::atomic<int> calls{0};
  EventSink sink = [&](EngineEvent&&) { calls++; };
  EXPECT_EQ(f.engine->submit(EngineFixture::greedy("e", {}, 4), sink).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(f.engine->submit(EngineFixture::greedy("v", {5, 49152}, 4), sink).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(f.engine->submit(EngineFixture::greedy("long", make_prompt(250, 2), 10), sink).code(),
            StatusCode::kInvalidArgument);  // 260 tokens > the 256-slot pool
  GenerateInput bad_n = EngineFixture::greedy("n", {5, 6}, 4);
  bad_n.n = 0;
  EXPECT_EQ(f.engine->submit(bad_n, sink).code(), StatusCode::kInvalidArgument);
  GenerateInput bad_t = EngineFixture::greedy("t", {5, 6}, 4);
  bad_t.params.temperature = -1;
  EXPECT_EQ(f.engine->submit(bad_t, sink).code(), StatusCode::kInvalidArgument);
  Collector c;
  c.expect("dup");
  ASSERT_TRUE(f.engine->submit(EngineFixture::greedy("dup", {5, 6}, 30), c.sink()).ok());
  EXPECT_EQ(f.engine->submit(EngineFixture::greedy("dup", {7}, 4), sink).code(),
            StatusCode::kAlreadyExists);
  c.wait();
  EXPECT_EQ(calls.load(), 0);
  EXPECT_FALSE(f.engine->abort("nobody"));
}

// ACCEPTANCE 4 and 6: abort while queued, mid chunked prefill and while decoding; each gets one
// terminal event, an aborted request reports timing and one logprob per generated token, and the
// pool returns to its initial free count.
TEST(Engine, AbortAtEveryStage) {
  EngineConfig cfg = EngineFixture::default_config();
  cfg.scheduler.limits.max_prefill_tokens_per_step = 64;
  cfg.scheduler.limits.max_running_requests = 2;
  EngineFixture f(4096, cfg);
  Collector c;
  Engine& e = *f.engine;
  // "short" is admitted first; its first token arrives in the step that computed the first chunk
  // of "long" (512 tokens, 64 per step), so aborting "long" then lands mid-prefill.
  c.expect("short");
  c.expect("long");
  c.expect("queued");
  c.expect("decoding");
  ASSERT_TRUE(e.submit(EngineFixture::greedy("short", make_prompt(5, 3), 40),
                       c.sink([&](const EngineEvent& ev) {
                         if (!ev.terminal() && c.at("short").streamed.size() == 1) {
                           e.abort("long", "client went away");
                           e.abort("queued");
                         }
                       }))
                  .ok());
  ASSERT_TRUE(e.submit(EngineFixture::greedy("long", make_prompt(512, 4), 8), c.sink()).ok());
  ASSERT_TRUE(e.submit(EngineFixture::greedy("queued", make_prompt(9, 5), 8), c.sink()).ok());
  GenerateInput d = EngineFixture::greedy("decoding", make_prompt(7, 6), 50);
  d.params.return_logprob = true;
  d.params.top_logprobs = 3;
  ASSERT_TRUE(e.submit(d, c.sink([&](const EngineEvent& ev) {
                         if (!ev.terminal() && c.at("decoding").streamed.size() == 3) {
                           e.abort("decoding");
                         }
                       }))
                  .ok());
  c.wait();
  EXPECT_EQ(c.at("short").final.finish, FinishReason::kLength);
  const EngineEvent& lng = c.at("long").final;
  EXPECT_EQ(lng.finish, FinishReason::kAbort);
  EXPECT_EQ(lng.error, "client went away");
  EXPECT_EQ(lng.completion_tokens, 0);
  const EngineEvent& q = c.at("queued").final;
  EXPECT_EQ(q.finish, FinishReason::kAbort);
  EXPECT_FALSE(q.error.empty());
  EXPECT_GE(q.e2e_latency.count(), 0);
  const Outcome& dec = c.at("decoding");
  EXPECT_EQ(dec.final.finish, FinishReason::kAbort);
  EXPECT_EQ(dec.final.completion_tokens, 3);
  EXPECT_EQ(dec.final.tokens, dec.streamed);
  ASSERT_EQ(dec.final.logprobs.size(), 3u);
  for (const auto& lp : dec.final.logprobs) {
    ASSERT_EQ(lp.top_logprobs.size(), 3u);
    EXPECT_EQ(lp.top_logprobs[0].token, lp.token);  // greedy picks the most likely token
    EXPECT_LE(lp.logprob, 0.0f);
  }
  EXPECT_GT(dec.final.e2e_latency.count(), 0);
  for (const char* id : {"short", "long", "queued", "decoding"}) {
    EXPECT_EQ(c.at(id).terminal_events, 1) << id;
  }
  EXPECT_EQ(f.free_after_flush(), 4096);
  EXPECT_EQ(e.live_requests(), 0);
}

TEST(Engine, AbortAllWith32InFlightLeavesTheEngineHealthy) {
  EngineFixture f(8192);
  Collector c;
  std::atomic<bool> fired{false};
  for (int i = 0; i < 32; ++i) {
    const std::string id = "r" + std::to_string(i);
    c.expect(id);
    ASSERT_TRUE(f.engine
                    ->submit(EngineFixture::greedy(id, make_prompt(20 + i, 100 + i), 64),
                             c.sink([&](const EngineEvent& ev) {
                               if (!ev.terminal() && !fired.exchange(true)) f.engine->abort_all();
                             }))
                    .ok());
  }
  c.wait();
  for (int i = 0; i < 32; ++i) {
    const Outcome& o = c.at("r" + std::to_string(i));
    EXPECT_EQ(o.terminal_events, 1);
    EXPECT_EQ(o.final.finish, FinishReason::kAbort);
  }
  EXPECT_EQ(f.free_after_flush(), 8192);
  Collector after;
  after.expect("next");
  ASSERT_TRUE(f.engine->submit(EngineFixture::greedy("next", make_prompt(9, 7), 4), after.sink()).ok());
  after.wait();
  EXPECT_EQ(after.at("next").final.finish, FinishReason::kLength);
}

// ACCEPTANCE 5: timeouts abort with a clear error while the rest keeps serving.
TEST(Engine, WaitingAndRunningTimeouts) {
  EngineConfig cfg = EngineFixture::default_config();
  cfg.scheduler.limits.max_running_requests = 1;
  EngineFixture f(4096, cfg);
  Collector c;
  c.expect("busy");
  c.expect("waits");
  ASSERT_TRUE(f.engine->submit(EngineFixture::greedy("busy", make_prompt(12, 8), 24), c.sink()).ok());
  GenerateInput w = EngineFixture::greedy("waits", make_prompt(12, 9), 4);
  w.waiting_timeout = 1ms;
  ASSERT_TRUE(f.engine->submit(w, c.sink()).ok());
  c.wait();
  EXPECT_EQ(c.at("busy").final.finish, FinishReason::kLength);
  EXPECT_EQ(c.at("busy").final.completion_tokens, 24);
  EXPECT_EQ(c.at("waits").final.finish, FinishReason::kWaitingTimeout);
  EXPECT_NE(c.at("waits").final.error.find("waiting_timeout"), std::string::npos);

  Collector r;
  r.expect("runs");
  GenerateInput run = EngineFixture::greedy("runs", make_prompt(12, 10), 2000);
  run.running_timeout = 150ms;
  ASSERT_TRUE(f.engine->submit(run, r.sink()).ok());
  r.wait();
  const EngineEvent& ev = r.at("runs").final;
  EXPECT_EQ(ev.finish, FinishReason::kRunningTimeout);
  EXPECT_NE(ev.error.find("running_timeout"), std::string::npos);
  EXPECT_LT(ev.completion_tokens, 2000);
  EXPECT_EQ(f.free_after_flush(), 4096);
}

// ACCEPTANCE 7: under a pool too small for everyone, requests are retracted and resumed with the
// tokens they had; greedy output equals the run with plenty of KV.
TEST(Engine, RetractionKeepsGreedyOutput) {
  std::vector<GenerateInput> reqs;
  for (int i = 0; i < 6; ++i) {
    reqs.push_back(EngineFixture::greedy("q" + std::to_string(i), make_prompt(16 + i, 20 + i), 40));
  }
  auto run = [&](int32_t slots) {
    EngineFixture f(slots);
    Collector c;
    for (const GenerateInput& in : reqs) {
      c.expect(in.id);
      EXPECT_TRUE(f.engine->submit(in, c.sink()).ok());
    }
    c.wait();
    std::map<std::string, EngineEvent> out;
    for (const GenerateInput& in : reqs) out[in.id] = c.at(in.id).final;
    EXPECT_EQ(f.free_after_flush(), slots);
    return out;
  };
  auto roomy = run(4096);
  auto tight = run(160);  // 6 x (~18 + 40) tokens do not fit at once
  int retractions = 0;
  for (const GenerateInput& in : reqs) {
    EXPECT_EQ(tight[in.id].tokens, roomy[in.id].tokens) << in.id;
    EXPECT_EQ(tight[in.id].finish, FinishReason::kLength);
    retractions += tight[in.id].retractions;
  }
  EXPECT_GT(retractions, 0) << "the tight pool never retracted; the test lost its point";
}

// n > 1: samples share the prompt's KV; seeded samples differ from each other and repeat exactly;
// greedy samples equal the n = 1 result.
TEST(Engine, ParallelSamplingSharesThePrompt) {
  EngineFixture f(4096);
  const std::vector<int32_t> prompt = make_prompt(40, 11);
  auto sample = [&](const std::string& id, int32_t n, float temperature) {
    Collector c;
    GenerateInput in = EngineFixture::greedy(id, prompt, 10);
    in.n = n;
    in.params.temperature = temperature;
    in.params.seed = 1234;
    c.expect(id, n);
    EXPECT_TRUE(f.engine->submit(in, c.sink()).ok());
    c.wait();
    std::vector<EngineEvent> out;
    for (int32_t i = 0; i < n; ++i) out.push_back(c.at(id, i).final);
    return out;
  };
  auto hot = sample("hot", 4, 1.0f);
  ASSERT_EQ(hot.size(), 4u);
  for (int i = 1; i < 4; ++i) {
    EXPECT_GE(hot[i].cached_tokens, 39) << "sample " << i << " recomputed the prompt";
  }
  EXPECT_FALSE(hot[0].tokens == hot[1].tokens && hot[1].tokens == hot[2].tokens &&
               hot[2].tokens == hot[3].tokens);
  ASSERT_TRUE(f.engine->flush_cache());
  auto again = sample("hot2", 4, 1.0f);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(again[i].tokens, hot[i].tokens) << i;
  auto one = sample("one", 1, 0.0f);
  auto three = sample("three", 3, 0.0f);
  for (const EngineEvent& ev : three) EXPECT_EQ(ev.tokens, one[0].tokens);
  EXPECT_EQ(f.free_after_flush(), 4096);
}

TEST(Engine, FlushCacheIsRefusedWhileRequestsRun) {
  EngineFixture f(4096);
  Collector c;
  std::atomic<int> flush_result{-1};
  c.expect("a");
  ASSERT_TRUE(f.engine->submit(EngineFixture::greedy("a", make_prompt(10, 12), 30), c.sink()).ok());
  flush_result = f.engine->flush_cache() ? 1 : 0;
  c.wait();
  EXPECT_EQ(flush_result.load(), 0);
  EXPECT_TRUE(f.engine->flush_cache());
  EXPECT_EQ(f.engine->load().cached_tokens, 0);
}

}  // namespace
}  // namespace tandem::service::testing
