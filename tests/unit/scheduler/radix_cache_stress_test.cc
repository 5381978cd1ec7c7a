// Randomized stress test: simulated requests (match, lock, allocate, insert, unlock) plus evictions
// and flushes against a tiny slot pool. A fake allocator tracks who owns each slot and fails the
// test when a slot is released twice, released while the caller owns it, or leaks. Every matched
// slot is checked to hold the KV of exactly the queried prefix.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "scheduler/radix_cache.h"

namespace tandem::scheduler {
namespace {

enum class Owner { kFree, kCaller, kCache };

class FakePool {
 public:
  explicit FakePool(int32_t size) : owner_(size, Owner::kFree), prefix_hash_(size, 0) {}

  bool allocate(int32_t n, std::vector<int32_t>& out) {
    std::vector<int32_t> got;
    for (int32_t s = 0; s < size() && static_cast<int32_t>(got.size()) < n; ++s) {
      if (owner_[s] == Owner::kFree) got.push_back(s);
    }
    if (static_cast<int32_t>(got.size()) < n) return false;
    for (int32_t s : got) owner_[s] = Owner::kCaller;
    out.insert(out.end(), got.begin(), got.end());
    return true;
  }
  void caller_frees(int32_t s) {
    ASSERT_EQ(owner_[s], Owner::kCaller) << "caller frees slot " << s << " it does not own";
    owner_[s] = Owner::kFree;
  }
  void give_to_cache(int32_t s, uint64_t hash) {
    ASSERT_EQ(owner_[s], Owner::kCaller) << "slot " << s;
    owner_[s] = Owner::kCache;
    prefix_hash_[s] = hash;
  }
  SlotReleaser releaser() {
    return [this](std::span<const int32_t> slots) {
      for (int32_t s : slots) {
        ASSERT_TRUE(s >= 0 && s < size()) << "released slot " << s << " out of range";
        ASSERT_EQ(owner_[s], Owner::kCache) << "cache released slot " << s << " it does not own";
        owner_[s] = Owner::kFree;
        ++released_;
      }
    };
  }
  int32_t count(Owner o) const {
    int32_t n = 0;
    for (Owner x : owner_) n += x == o;
    return n;
  }
  Owner owner(int32_t s) const { return owner_[s]; }
  uint64_t prefix_hash(int32_t s) const { return prefix_hash_[s]; }
  int32_t size() const { return static_cast<int32_t>(owner_.size()); }
  int64_t released() const { return released_; }

 private:
  std::vector<Owner> owner_;
  std::vector<uint64_t> prefix_hash_;  // identity of the prefix whose last token's KV the slot holds
  int64_t released_ = 0;
};

// prefix_hashes(ns, t)[i] identifies (ns, t[0..i]).
std::vector<uint64_t> prefix_hashes(const std::string& ns, const std::vector<int32_t>& t) {
  uint64_t h = 1469598103934665603ull;
  for (char c : ns) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  std::vector<uint64_t> out;
  for (int32_t x : t) {
    h = (h ^ static_cast<uint64_t>(x + 7)) * 1099511628211ull;
    h ^= h >> 29;
    out.push_back(h);
  }
  return out;
}

void run_stress(uint32_t seed, int32_t page_size, int32_t pool_size, int ops) {
  SCOPED_TRACE(::testing::Message() << "seed " << seed << " page " << page_size);
  std::mt19937 rng(seed);
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  FakePool pool(pool_size);
  RadixCache cache(page_size, pool.releaser());
  const std::vector<std::string> namespaces = {"", "", "", "lora"};
  // A few shared stems so requests share prefixes of various lengths.
  std::vector<std::vector<int32_t>> stems;
  for (int i = 0; i < 4; ++i) {
    std::vector<int32_t> s(uniform(0, 12));
    for (auto& x : s) x = uniform(0, 3);
    stems.push_back(s);
  }
  std::vector<TreeNode*> locked;
  int64_t matched_total = 0;

  for (int op = 0; op < ops; ++op) {
    const int kind = uniform(0, 99);
    if (kind < 55) {  // a request: match, lock, allocate the rest, insert, keep or drop the lock
      const std::string& ns = namespaces[uniform(0, 3)];
      std::vector<int32_t> tokens = stems[uniform(0, 3)];
      tokens.resize(uniform(0, static_cast<int>(tokens.size())));
      for (int i = uniform(0, 10); i > 0; --i) tokens.push_back(uniform(0, 3));
      const auto hashes = prefix_hashes(ns, tokens);
      MatchResult m = cache.match_prefix(tokens, ns);
      ASSERT_EQ(m.matched % page_size, 0);
      ASSERT_EQ(static_cast<size_t>(m.matched), m.slots.size());
      ASSERT_LE(static_cast<size_t>(m.matched), tokens.size());
      for (int32_t i = 0; i < m.matched; ++i) {
        ASSERT_EQ(pool.owner(m.slots[i]), Owner::kCache);
        ASSERT_EQ(pool.prefix_hash(m.slots[i]), hashes[i]) << "slot holds another prefix's KV";
      }
      matched_total += m.matched;
      cache.inc_lock(m.last_node);
      const int32_t need = static_cast<int32_t>(tokens.size()) - m.matched;
      std::vector<int32_t> slots = m.slots;
      if (!pool.allocate(need, slots)) {
        cache.evict(need - pool.count(Owner::kFree));
        if (!pool.allocate(need, slots)) {  // pool full of locked KV: the request waits
          cache.dec_lock(m.last_node);
          cache.check_invariants();
          continue;
        }
      }
      const int32_t cached = cache.insert(tokens, slots, ns);
      ASSERT_GE(cached, m.matched);  // the matched path is locked, so still there
      const int32_t aligned = static_cast<int32_t>(tokens.size()) / page_size * page_size;
      for (int32_t i = m.matched; i < static_cast<int32_t>(tokens.size()); ++i) {
        if (i < cached || i >= aligned) {
          pool.caller_frees(slots[i]);  // duplicate of cached KV, or a partial page
        } else {
          pool.give_to_cache(slots[i], hashes[i]);
        }
      }
      // Re-match to get the node covering the whole insert, lock it as a running request would.
      MatchResult after = cache.match_prefix(tokens, ns);
      ASSERT_EQ(after.matched, aligned);
      cache.inc_lock(after.last_node);
      cache.dec_lock(m.last_node);
      if (uniform(0, 2) == 0) {
        cache.dec_lock(after.last_node);
      } else {
        locked.push_back(after.last_node);
      }
    } else if (kind < 75) {  // a request finishes
      if (!locked.empty()) {
        const size_t i = uniform(0, static_cast<int>(locked.size()) - 1);
        cache.dec_lock(locked[i]);
        locked.erase(locked.begin() + static_cast<std::ptrdiff_t>(i));
      }
    } else if (kind < 95) {
      const int32_t want = uniform(1, pool_size / 2);
      const int32_t evictable = cache.evictable_tokens();
      const int32_t got = cache.evict(want);
      ASSERT_LE(got, evictable);
      if (evictable >= want) {
        ASSERT_GE(got, want);
      } else {
        ASSERT_EQ(got, evictable);
      }
    } else if (kind < 98) {
      cache.match_prefix(stems[uniform(0, 3)], namespaces[uniform(0, 3)]);
    } else {
      cache.flush();
      ASSERT_EQ(cache.evictable_tokens(), 0);
    }
    cache.check_invariants();
    ASSERT_EQ(pool.count(Owner::kCache), cache.cached_tokens());
    ASSERT_EQ(pool.count(Owner::kCaller), 0);
    ASSERT_LE(cache.stats().tokens_matched, cache.stats().tokens_queried);
  }
  EXPECT_GT(matched_total, 0) << "the workload never hit the cache: the test would prove little";
  for (TreeNode* n : locked) cache.dec_lock(n);
  EXPECT_EQ(cache.locked_tokens(), 0);
  cache.flush();
  cache.check_invariants();
  EXPECT_EQ(cache.cached_tokens(), 0);
  EXPECT_EQ(cache.node_count(), 0);
  EXPECT_EQ(pool.count(Owner::kFree), pool_size) << "slots leaked";
}

TEST(RadixCacheStressTest, PageSizeOne) {
  for (uint32_t seed = 1; seed <= 5; ++seed) run_stress(seed, 1, 48, 4000);
}

TEST(RadixCacheStressTest, PageSizeTwo) {
  for (uint32_t seed = 11; seed <= 15; ++seed) run_stress(seed, 2, 48, 4000);
}

TEST(RadixCacheStressTest, PageSizeFour) {
  for (uint32_t seed = 21; seed <= 25; ++seed) run_stress(seed, 4, 64, 4000);
}

}  // namespace
}  // namespace tandem::scheduler
