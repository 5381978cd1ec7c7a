// KvEventIndex and cache_aware's kv_events mode, fed with events recorded from the worker's own
// KvEventBridge (the same code a worker runs), so the gateway's block hashing is checked against
// the worker's rather than against a copy of itself.
#include "gateway/routing/kv_event_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>

#include "gateway/routing/policies/cache_aware_events.h"
#include "worker/service/kv_event_bridge.h"
#include "worker/service/kv_event_source.h"
#include "tests/unit/routing/policy_test_util.h"

namespace tandem::gateway::routing {
namespace {

using testing::make_workers;

using Tokens = std::vector<int32_t>;

Tokens seq(int32_t base, size_t n) {
  Tokens t(n);
  for (size_t i = 0; i < n; ++i) t[i] = base + static_cast<int32_t>(i);
  return t;
}

// A worker's event pipeline: radix-cache events → KvEventBridge → KvEventSource → recorded.
class RecordedWorker {
 public:
  explicit RecordedWorker(int32_t block_size) : bridge_(source_, block_size) {
    source_.subscribe(
        [this](const service::KvEventBatchData& b) {
          batches_.push_back(b);
          return true;
        },
        [](uint64_t) {});
  }
  void store(const Tokens& path, int32_t count) {
    bridge_.on_cache_event({scheduler::CacheEvent::Kind::kStored, "", path, count});
  }
  void remove(const Tokens& path, int32_t count) {
    bridge_.on_cache_event({scheduler::CacheEvent::Kind::kRemoved, "", path, count});
  }
  void clear() { bridge_.on_cache_event({scheduler::CacheEvent::Kind::kCleared, "", {}, 0}); }
  // Replays what was recorded since the last call, as the gateway's feed does.
  void replay_into(KvEventIndex& index, const std::string& id) {
    for (; next_ < batches_.size(); ++next_) {
      for (const auto& ev : batches_[next_].events) {
        switch (ev.kind) {
          case service::KvCacheEventData::Kind::kStored: {
            std::vector<int64_t> h;
            int32_t bs = 0;
            for (const auto& blk : ev.blocks) {
              h.push_back(blk.block_hash);
              bs = blk.block_size;
            }
            index.stored(id, h, bs);
            break;
          }
          case service::KvCacheEventData::Kind::kRemoved:
            index.removed(id, ev.removed_hashes);
            break;
          case service::KvCacheEventData::Kind::kCleared:
            index.cleared(id);
            break;
        }
      }
      index.note_batch(id, batches_[next_].sequence_number);
    }
  }

 private:
  service::KvEventSource source_;
  service::KvEventBridge bridge_;
  std::vector<service::KvEventBatchData> batches_;
  size_t next_ = 0;
};

TEST(KvBlockHashes, MatchTheWorkersBridge) {
  service::KvEventSource source;
  service::KvEventBridge bridge(source, 16);
  const Tokens t = seq(7, 70);
  const std::vector<int64_t> h = kv_block_hashes(t, 16);
  ASSERT_EQ(h.size(), 4u) << "70 tokens hold 4 whole blocks of 16";
  for (size_t k = 0; k < h.size(); ++k) EXPECT_EQ(h[k], bridge.block_hash("", t, (k + 1) * 16)) << k;
  EXPECT_NE(kv_block_hashes(t, 16, "adapter-1")[0], h[0]) << "namespaces hash apart";
}

TEST(KvEventIndex, ExactPrefixFromStoredRemovedAndClearedEvents) {
  RecordedWorker w(16);
  KvEventIndex index;
  const Tokens a = seq(1000, 100);  // 6 whole blocks
  // The radix cache stores a prompt in two steps (chunked prefill): 40 tokens, then the rest.
  w.store(Tokens(a.begin(), a.begin() + 40), 40);
  w.store(a, 60);
  w.replay_into(index, "w0");
  EXPECT_EQ(index.matched_tokens("w0", a), 96u);
  Tokens a_then_other = Tokens(a.begin(), a.begin() + 50);
  Tokens other = seq(9000, 50);
  a_then_other.insert(a_then_other.end(), other.begin(), other.end());
  EXPECT_EQ(index.matched_tokens("w0", a_then_other), 48u) << "shared prefix: 3 whole blocks";
  EXPECT_EQ(index.matched_tokens("w0", seq(1001, 100)), 0u) << "shifted by one token: nothing";
  EXPECT_EQ(index.matched_tokens("w1", a), 0u) << "an unknown worker holds nothing";
  EXPECT_EQ(index.stats("w0").blocks, 6u);
  EXPECT_EQ(index.stats("w0").batches, 2u);

  // Evicting the last 40 tokens drops the blocks ending after token 60 (blocks 4..6).
  w.remove(a, 40);
  w.replay_into(index, "w0");
  EXPECT_EQ(index.matched_tokens("w0", a), 48u);
  w.clear();
  w.replay_into(index, "w0");
  EXPECT_EQ(index.matched_tokens("w0", a), 0u);
  EXPECT_EQ(index.stats("w0").blocks, 0u);
}

TEST(KvEventIndex, ResetForgetsAWorker) {
  RecordedWorker w(16);
  KvEventIndex index;
  const Tokens a = seq(1, 64);
  w.store(a, 64);
  w.replay_into(index, "w0");
  ASSERT_EQ(index.matched_tokens("w0", a), 64u);
  index.reset("w0");
  EXPECT_EQ(index.matched_tokens("w0", a), 0u);
}

TEST(KvEventsCacheAware, RoutesToTheWorkerThatReportedThePrefix) {
  auto index = std::make_shared<KvEventIndex>();
  KvEventsCacheAwarePolicy policy(CacheAwareConfig{}, index);
  auto ws = make_workers(3);
  RecordedWorker w1(16), w2(16);
  const Tokens a = seq(100, 200), b = seq(5000, 200);
  w1.store(a, 200);
  w2.store(b, 200);
  w1.replay_into(*index, "w1");
  w2.replay_into(*index, "w2");

  Tokens a2 = a;
  a2.insert(a2.end(), {1, 2, 3, 4});
  EXPECT_EQ(policy.select(ws, {.tokens = a2}), 1u);
  EXPECT_EQ(policy.select(ws, {.tokens = b}), 2u);
  // No match: the least loaded worker; on a load tie, the one holding fewer blocks (w0: none).
  EXPECT_EQ(policy.select(ws, {.tokens = seq(70000, 64)}), 0u);
  ws[0].load.running = 3;
  EXPECT_EQ(policy.select(ws, {.tokens = seq(70000, 64)}), 1u) << "w1 and w2 tie on load and blocks";
  // Below the cache threshold (half the prompt): load decides, not the short match.
  Tokens mostly_new(a.begin(), a.begin() + 32);
  Tokens tail = seq(80000, 100);
  mostly_new.insert(mostly_new.end(), tail.begin(), tail.end());
  ws[1].load.running = 2;
  EXPECT_EQ(policy.select(ws, {.tokens = mostly_new}), 2u);
}

TEST(KvEventsCacheAware, ImbalanceOverridesTheCache) {
  auto index = std::make_shared<KvEventIndex>();
  KvEventsCacheAwarePolicy policy(CacheAwareConfig{}, index);
  RecordedWorker w0(16);
  const Tokens a = seq(100, 128);
  w0.store(a, 128);
  w0.replay_into(*index, "w0");
  // (max - min) > 64 and max > 1.5 × min: shortest queue wins over the cached prefix.
  EXPECT_EQ(policy.select(make_workers(2, {64, 0}), {.tokens = a}), 0u) << "64 apart: balanced";
  EXPECT_EQ(policy.select(make_workers(2, {65, 0}), {.tokens = a}), 1u);
}

TEST(KvEventsCacheAware, FactoryBuildsItOnlyWithAnIndex) {
  PolicyConfig pc;
  pc.cache_aware_mode = CacheAwareMode::kKvEvents;
  EXPECT_EQ(make_routing_policy("cache_aware", pc).status().code(), StatusCode::kInvalidArgument);
  pc.kv_events = std::make_shared<KvEventIndex>();
  auto p = make_routing_policy("cache_aware", pc);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(dynamic_cast<KvEventsCacheAwarePolicy*>(p->get()), nullptr);
  EXPECT_EQ(parse_cache_aware_mode("kv_events").value(), CacheAwareMode::kKvEvents);
  EXPECT_FALSE(parse_cache_aware_mode("exact").ok());
}

}  // namespace
}  // namespace tandem::gateway::routing
