// Unit tests for RadixCache: match/insert/split, paging, namespaces, locks, LRU, flush, ownership,
// events. Each test checks the structural invariants after mutating the cache.
#include "scheduler/radix_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

namespace tandem::scheduler {
namespace {

using Tokens = std::vector<int32_t>;

// Records released slots so tests can assert exactly what eviction returned to the pool.
struct Released {
  std::vector<int32_t> slots;
  SlotReleaser releaser() {
    return [this](std::span<const int32_t> s) { slots.insert(slots.end(), s.begin(), s.end()); };
  }
};

// Slots 1000+i for token position i make it easy to see which insert a slot came from.
Tokens slots_from(int32_t base, size_t n) {
  Tokens s(n);
  std::iota(s.begin(), s.end(), base);
  return s;
}

TEST(RadixCacheTest, EmptyCacheMatchesNothing) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3});
  EXPECT_EQ(m.matched, 0);
  EXPECT_TRUE(m.slots.empty());
  ASSERT_NE(m.last_node, nullptr);
  EXPECT_TRUE(m.last_node->is_root());
  cache.check_invariants();
}

TEST(RadixCacheTest, InsertThenMatchReturnsSlotsOfLongestPrefix) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  EXPECT_EQ(cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13}), 0);
  EXPECT_EQ(cache.cached_tokens(), 4);
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3, 4, 5, 6});
  EXPECT_EQ(m.matched, 4);
  EXPECT_EQ(m.slots, (Tokens{10, 11, 12, 13}));
  m = cache.match_prefix(Tokens{1, 2, 9});
  EXPECT_EQ(m.matched, 2);
  EXPECT_EQ(m.slots, (Tokens{10, 11}));
  EXPECT_EQ(cache.match_prefix(Tokens{2, 2}).matched, 0);
  cache.check_invariants();
  EXPECT_TRUE(rel.slots.empty());
}

TEST(RadixCacheTest, PartialMatchSplitsNodeAndLastNodeCoversExactlyTheMatch) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  EXPECT_EQ(cache.node_count(), 1);
  MatchResult m = cache.match_prefix(Tokens{1, 2, 7});
  EXPECT_EQ(cache.node_count(), 2);
  EXPECT_EQ(m.last_node->key, (Tokens{1, 2}));
  EXPECT_EQ(m.last_node->slots, (Tokens{10, 11}));
  ASSERT_EQ(m.last_node->children.size(), 1u);
  EXPECT_EQ(m.last_node->children.begin()->second->key, (Tokens{3, 4}));
  EXPECT_EQ(cache.cached_tokens(), 4);
  cache.check_invariants();
}

TEST(RadixCacheTest, InsertReportsAlreadyCachedPrefixAndKeepsOldSlots) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3}, Tokens{10, 11, 12});
  // Same prefix with other (duplicate) slots: the cache keeps its own for the shared part.
  EXPECT_EQ(cache.insert(Tokens{1, 2, 5, 6}, Tokens{20, 21, 22, 23}), 2);
  EXPECT_EQ(cache.cached_tokens(), 5);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 5, 6}).slots, (Tokens{10, 11, 22, 23}));
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).slots, (Tokens{10, 11, 12}));
  EXPECT_EQ(cache.insert(Tokens{1, 2, 3}, Tokens{30, 31, 32}), 3);
  EXPECT_EQ(cache.cached_tokens(), 5);
  cache.check_invariants();
  EXPECT_TRUE(rel.slots.empty());  // insert never releases: duplicates stay the caller's
}

TEST(RadixCacheTest, InsertOfStrictPrefixSplitsAndExtensionAddsChild) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  EXPECT_EQ(cache.insert(Tokens{1, 2}, Tokens{20, 21}), 2);  // fully cached, splits [1 2 | 3 4]
  EXPECT_EQ(cache.node_count(), 2);
  EXPECT_EQ(cache.cached_tokens(), 4);
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3, 4});
  cache.inc_lock(m.last_node);
  EXPECT_EQ(cache.insert(Tokens{1, 2, 3, 4, 5, 6}, Tokens{0, 0, 0, 0, 14, 15}), 4);
  EXPECT_EQ(cache.node_count(), 3);
  EXPECT_EQ(cache.locked_tokens(), 4);
  EXPECT_EQ(cache.evictable_tokens(), 2);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 7}).slots, (Tokens{10, 11, 12, 13, 14, 15}));
  cache.check_invariants();
  EXPECT_EQ(cache.evict(100), 2);  // only the unlocked extension [5 6]
  EXPECT_EQ(rel.slots, (Tokens{14, 15}));
  cache.dec_lock(m.last_node);
  cache.check_invariants();
}

TEST(RadixCacheTest, PageAlignmentIgnoresTrailingPartialPage) {
  Released rel;
  RadixCache cache(4, rel.releaser());
  Tokens t = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // 2 full pages + 2 tokens
  EXPECT_EQ(cache.insert(t, slots_from(100, t.size())), 0);
  EXPECT_EQ(cache.cached_tokens(), 8);
  // Differs at position 6 (inside page 2): only the first page matches.
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 0, 8});
  EXPECT_EQ(m.matched, 4);
  EXPECT_EQ(m.slots, slots_from(100, 4));
  // A 7-token query only looks at its first page.
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 7}).matched, 4);
  EXPECT_EQ(cache.match_prefix(t).matched, 8);
  // A query shorter than a page matches nothing.
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).matched, 0);
  // Insert diverging inside page 2: the shared part is one page; the new page is a sibling.
  EXPECT_EQ(cache.insert(Tokens{1, 2, 3, 4, 5, 6, 0, 0}, slots_from(200, 8)), 4);
  EXPECT_EQ(cache.cached_tokens(), 12);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3, 4, 5, 6, 0, 0}).slots,
            (Tokens{100, 101, 102, 103, 204, 205, 206, 207}));
  cache.check_invariants();
}

TEST(RadixCacheTest, ExtraKeyNamespacesAreIsolated) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3}, Tokens{10, 11, 12}, "lora-a");
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).matched, 0);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}, "lora-b").matched, 0);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}, "lora-a").matched, 3);
  EXPECT_EQ(cache.insert(Tokens{1, 2, 3}, Tokens{20, 21, 22}), 0);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).slots, (Tokens{20, 21, 22}));
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}, "lora-a").slots, (Tokens{10, 11, 12}));
  EXPECT_EQ(cache.cached_tokens(), 6);
  cache.check_invariants();
}

TEST(RadixCacheTest, LocksPreventEvictionAndCountTokens) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  cache.insert(Tokens{1, 2, 7, 8}, Tokens{20, 21, 22, 23});
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3, 4});
  cache.inc_lock(m.last_node);
  EXPECT_EQ(cache.locked_tokens(), 4);     // [1 2] and [3 4]
  EXPECT_EQ(cache.evictable_tokens(), 2);  // [7 8]
  cache.check_invariants();
  EXPECT_EQ(cache.evict(100), 2);
  EXPECT_EQ(rel.slots, (Tokens{22, 23}));
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3, 4}).matched, 4);
  cache.dec_lock(m.last_node);
  EXPECT_EQ(cache.locked_tokens(), 0);
  EXPECT_EQ(cache.evictable_tokens(), 4);
  // Nodes are not merged back: [1 2] -> [3 4]; evicting one token takes the whole leaf [3 4].
  EXPECT_EQ(cache.evict(1), 2);
  EXPECT_EQ(cache.cached_tokens(), 2);
  EXPECT_EQ(cache.evict(1), 2);  // [1 2] became a leaf when its last child went
  EXPECT_EQ(cache.cached_tokens(), 0);
  EXPECT_EQ(rel.slots, (Tokens{22, 23, 12, 13, 10, 11}));
  cache.check_invariants();
}

TEST(RadixCacheTest, SplitOfLockedNodeKeepsLockOnBothHalves) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  MatchResult full = cache.match_prefix(Tokens{1, 2, 3, 4});
  cache.inc_lock(full.last_node);
  // A second request diverging after 2 tokens splits the locked node.
  MatchResult part = cache.match_prefix(Tokens{1, 2, 9});
  EXPECT_EQ(part.last_node->lock_ref, 1);
  EXPECT_EQ(cache.locked_tokens(), 4);
  cache.check_invariants();
  cache.inc_lock(part.last_node);
  EXPECT_EQ(part.last_node->lock_ref, 2);
  cache.dec_lock(full.last_node);  // the pointer still names the lower half [3 4]
  EXPECT_EQ(cache.locked_tokens(), 2);
  EXPECT_EQ(cache.evictable_tokens(), 2);
  cache.check_invariants();
  EXPECT_EQ(cache.evict(100), 2);
  EXPECT_EQ(rel.slots, (Tokens{12, 13}));
  cache.dec_lock(part.last_node);
  EXPECT_EQ(cache.evict(100), 2);
  EXPECT_EQ(cache.cached_tokens(), 0);
  cache.check_invariants();
}

TEST(RadixCacheTest, EvictsLeastRecentlyUsedLeafFirst) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 1}, Tokens{10, 11});
  cache.insert(Tokens{2, 2}, Tokens{20, 21});
  cache.insert(Tokens{3, 3}, Tokens{30, 31});
  cache.match_prefix(Tokens{1, 1});  // now [2 2] is the oldest, then [3 3], then [1 1]
  EXPECT_EQ(cache.evict(1), 2);
  EXPECT_EQ(rel.slots, (Tokens{20, 21}));
  EXPECT_EQ(cache.evict(1), 2);
  EXPECT_EQ(rel.slots, (Tokens{20, 21, 30, 31}));
  EXPECT_EQ(cache.match_prefix(Tokens{1, 1}).matched, 2);
  EXPECT_EQ(cache.match_prefix(Tokens{2, 2}).matched, 0);
  cache.check_invariants();
}

TEST(RadixCacheTest, ParentBecomesCandidateOnlyAfterItsLastChild) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1, 2, 3}, Tokens{10, 11, 12});  // oldest
  cache.insert(Tokens{1, 2, 4}, Tokens{20, 21, 22});  // splits into [1 2] -> {[3], [4]}
  cache.insert(Tokens{5}, Tokens{50});                 // newest
  // Evicting 3 tokens: [3] (oldest leaf), then [4]; [1 2] has the access time of the second
  // insert, older than [5], so it goes before [5] once it is a leaf.
  EXPECT_EQ(cache.evict(3), 4);
  EXPECT_EQ(rel.slots, (Tokens{12, 22, 10, 11}));
  EXPECT_EQ(cache.match_prefix(Tokens{5}).matched, 1);
  cache.check_invariants();
}

TEST(RadixCacheTest, FlushDropsUnlockedNodesAndKeepsLockedPaths) {
  Released rel;
  RadixCache cache(2, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  cache.insert(Tokens{1, 2, 5, 6}, Tokens{20, 21, 22, 23});
  cache.insert(Tokens{7, 8}, Tokens{30, 31}, "ns");
  MatchResult m = cache.match_prefix(Tokens{1, 2, 5, 6});
  cache.inc_lock(m.last_node);
  cache.flush();
  EXPECT_EQ(cache.cached_tokens(), 4);
  EXPECT_EQ(cache.locked_tokens(), 4);
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 5, 6}).matched, 4);
  EXPECT_EQ(cache.match_prefix(Tokens{7, 8}, "ns").matched, 0);
  cache.check_invariants();
  cache.dec_lock(m.last_node);
  cache.flush();
  EXPECT_EQ(cache.cached_tokens(), 0);
  EXPECT_EQ(cache.node_count(), 0);
  std::sort(rel.slots.begin(), rel.slots.end());
  EXPECT_EQ(rel.slots, (Tokens{10, 11, 12, 13, 22, 23, 30, 31}));  // 20, 21 stayed the caller's
  cache.check_invariants();
}

TEST(RadixCacheTest, CacheCopiesCallerBuffers) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  Tokens tokens = {1, 2, 3};
  Tokens slots = {10, 11, 12};
  cache.insert(tokens, slots);
  tokens.assign({9, 9, 9});
  slots.assign({0, 0, 0});
  tokens.clear();
  slots.clear();
  tokens.shrink_to_fit();
  slots.shrink_to_fit();
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).slots, (Tokens{10, 11, 12}));
  MatchResult m = cache.match_prefix(Tokens{1, 2, 3});
  m.slots[0] = -1;  // the result is a copy too
  EXPECT_EQ(cache.match_prefix(Tokens{1, 2, 3}).slots, (Tokens{10, 11, 12}));
  cache.check_invariants();
}

TEST(RadixCacheTest, HitStatsCountQueriedAndMatchedTokens) {
  Released rel;
  RadixCache cache(2, rel.releaser());
  cache.insert(Tokens{1, 2, 3, 4}, Tokens{10, 11, 12, 13});
  cache.match_prefix(Tokens{1, 2, 3, 4, 5});  // 4 aligned queried, 4 matched
  cache.match_prefix(Tokens{1, 2, 9, 9});     // 4 queried, 2 matched
  EXPECT_EQ(cache.stats().lookups, 2);
  EXPECT_EQ(cache.stats().tokens_queried, 8);
  EXPECT_EQ(cache.stats().tokens_matched, 6);
  cache.reset_stats();
  EXPECT_EQ(cache.stats().lookups, 0);
}

TEST(RadixCacheTest, EventsDescribeStoredAndRemovedTokenRanges) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  struct Seen {
    CacheEvent::Kind kind;
    std::string ns;
    Tokens tokens;
    int32_t count;
  };
  std::vector<Seen> events;
  cache.set_event_sink([&](const CacheEvent& e) {
    events.push_back({e.kind, std::string(e.extra_key), Tokens(e.tokens.begin(), e.tokens.end()),
                      e.count});
  });
  cache.insert(Tokens{1, 2, 3}, Tokens{10, 11, 12}, "a");
  cache.insert(Tokens{1, 2, 4}, Tokens{20, 21, 22}, "a");  // split emits nothing, [4] is stored
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, CacheEvent::Kind::kStored);
  EXPECT_EQ(events[1].ns, "a");
  EXPECT_EQ(events[1].tokens, (Tokens{1, 2, 4}));
  EXPECT_EQ(events[1].count, 1);
  cache.flush();
  ASSERT_EQ(events.size(), 6u);  // three removals then cleared
  EXPECT_EQ(events[2].kind, CacheEvent::Kind::kRemoved);
  EXPECT_EQ(events[2].tokens, (Tokens{1, 2, 3}));
  EXPECT_EQ(events[2].count, 1);
  EXPECT_EQ(events[4].tokens, (Tokens{1, 2}));
  EXPECT_EQ(events[4].count, 2);
  EXPECT_EQ(events[5].kind, CacheEvent::Kind::kCleared);
}

TEST(RadixCacheDeathTest, UnbalancedDecLockAborts) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  cache.insert(Tokens{1}, Tokens{10});
  MatchResult m = cache.match_prefix(Tokens{1});
  EXPECT_DEATH(cache.dec_lock(m.last_node), "holds no lock");
}

TEST(RadixCacheDeathTest, MismatchedSlotCountAborts) {
  Released rel;
  RadixCache cache(1, rel.releaser());
  EXPECT_DEATH(cache.insert(Tokens{1, 2}, Tokens{10}), "2 tokens but 1 slots");
}

}  // namespace
}  // namespace tandem::scheduler
