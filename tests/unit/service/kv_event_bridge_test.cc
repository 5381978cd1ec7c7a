// Radix-cache token-range events → SubscribeKvEvents block events, through a real RadixCache.
#include <gtest/gtest.h>

#include <numeric>

#include "worker/service/kv_event_bridge.h"

namespace tandem::service {
namespace {

struct Recorder {
  KvEventSource source;
  std::vector<KvCacheEventData> events;
  Recorder() {
    source.subscribe(
        [this](const KvEventBatchData& b) {
          events.insert(events.end(), b.events.begin(), b.events.end());
          return true;
        },
        [](uint64_t) {});
  }
};

std::vector<int32_t> iota(int n, int from) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST(KvEventBridge, StoredAndRemovedBlocksChainAndMatch) {
  Recorder rec;
  KvEventBridge bridge(rec.source, 4);
  std::vector<int32_t> released;
  scheduler::RadixCache cache(1, [&](std::span<const int32_t> s) {
    released.insert(released.end(), s.begin(), s.end());
  });
  cache.set_event_sink([&](const scheduler::CacheEvent& e) { bridge.on_cache_event(e); });

  const auto a = iota(10, 100);  // blocks [0,4) [4,8); tail [8,10) not whole
  cache.insert(a, iota(10, 0));
  ASSERT_EQ(rec.events.size(), 1u);
  ASSERT_EQ(rec.events[0].kind, KvCacheEventData::Kind::kStored);
  ASSERT_EQ(rec.events[0].blocks.size(), 2u);
  EXPECT_FALSE(rec.events[0].parent_block_hash.has_value());
  EXPECT_EQ(rec.events[0].blocks[1].token_ids, (std::vector<int32_t>{104, 105, 106, 107}));
  const int64_t h8 = rec.events[0].blocks[1].block_hash;

  auto b = a;  // extends the path: the block [8,12) becomes whole, parent = block [4,8)
  b.push_back(110);
  b.push_back(111);
  b.push_back(112);
  cache.insert(b, iota(13, 20));
  ASSERT_EQ(rec.events.size(), 2u);
  ASSERT_EQ(rec.events[1].blocks.size(), 1u);
  EXPECT_EQ(rec.events[1].parent_block_hash, h8);
  EXPECT_EQ(rec.events[1].blocks[0].token_ids, (std::vector<int32_t>{108, 109, 110, 111}));
  EXPECT_EQ(rec.events[1].blocks[0].block_hash, bridge.block_hash("", b, 12));

  // The same tokens in another namespace hash differently.
  EXPECT_NE(bridge.block_hash("lora-a", a, 8), h8);

  cache.evict(100);
  bool removed_h8 = false;
  for (const auto& e : rec.events) {
    if (e.kind != KvCacheEventData::Kind::kRemoved) continue;
    for (int64_t h : e.removed_hashes) removed_h8 |= h == h8;
  }
  EXPECT_TRUE(removed_h8);
  cache.flush();
  EXPECT_EQ(rec.events.back().kind, KvCacheEventData::Kind::kCleared);
}

}  // namespace
}  // namespace tandem::service
