// ACCEPTANCE 8 on the real default model, through the scheduler: 64 concurrent requests (groups
// sharing prefixes, some long enough to be prefilled in several chunks) give the same greedy tokens
// as the same requests run one at a time on an empty cache.
#include <gtest/gtest.h>

#include "tests/unit/engine/engine_test_support.h"

namespace tandem::service::testing {
namespace {

TEST(EngineBatchInvariance, SixtyFourConcurrentRequestsEqualOneAtATime) {
  constexpr int kRequests = 64;
  constexpr int32_t kNewTokens = 8;
  std::vector<GenerateInput> reqs;
  for (int i = 0; i < kRequests; ++i) {
    // 8 groups of 8: group g shares a prefix of 24 + 8 g tokens; every fourth group's prefix is
    // long (200+ tokens), so it is prefilled in several 96-token chunks.
    const int g = i / 8;
    std::vector<int32_t> prompt = make_prompt(g % 4 == 3 ? 200 + 8 * g : 24 + 8 * g, 1000 + g);
    const std::vector<int32_t> tail = make_prompt(1 + i % 5, 5000 + i);
    prompt.insert(prompt.end(), tail.begin(), tail.end());
    reqs.push_back(EngineFixture::greedy("r" + std::to_string(i), prompt, kNewTokens));
  }

  EngineConfig cfg = EngineFixture::default_config();
  cfg.scheduler.limits.max_running_requests = kRequests;
  cfg.scheduler.limits.max_prefill_tokens_per_step = 96;
  EngineFixture together(16384, cfg);
  Collector c;
  for (const GenerateInput& in : reqs) {
    c.expect(in.id);
    ASSERT_TRUE(together.engine->submit(in, c.sink()).ok());
  }
  c.wait();
  const EngineLoad load = together.engine->load();
  EXPECT_GT(load.cache_hit_rate, 0.2) << "the shared prefixes were not reused";

  EngineFixture alone(16384, cfg);
  int differing = 0;
  for (const GenerateInput& in : reqs) {
    Collector one;
    one.expect(in.id);
    ASSERT_TRUE(alone.engine->submit(in, one.sink()).ok());
    one.wait();
    ASSERT_TRUE(alone.engine->flush_cache());  // every request starts from an empty cache
    const EngineEvent& a = one.at(in.id).final;
    const EngineEvent& b = c.at(in.id).final;
    EXPECT_EQ(a.completion_tokens, kNewTokens);
    if (a.tokens != b.tokens) ++differing;
    EXPECT_EQ(b.tokens, a.tokens) << in.id << " differs when batched";
  }
  EXPECT_EQ(differing, 0);
  EXPECT_EQ(together.free_after_flush(), 16384);
}

}  // namespace
}  // namespace tandem::service::testing
