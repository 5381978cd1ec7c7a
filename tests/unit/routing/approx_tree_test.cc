#include "gateway/routing/policies/approx_tree.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/routing/fake_clock.h"

namespace tandem::gateway::routing {
namespace {

using std::chrono::seconds;
using testing::FakeClock;
using Tokens = std::vector<int32_t>;

TEST(ApproxTreeTest, MatchesLongestStoredPrefixAcrossSplits) {
  FakeClock clock;
  ApproxTree t(1000);
  t.insert(Tokens{1, 2, 3, 4, 5}, clock.now());
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.match(Tokens{1, 2, 3, 4, 5, 6}), 5u);
  EXPECT_EQ(t.match(Tokens{1, 2, 9}), 2u);
  EXPECT_EQ(t.match(Tokens{2, 3}), 0u);
  EXPECT_EQ(t.match(Tokens{}), 0u);

  t.insert(Tokens{1, 2, 7, 8}, clock.now());  // splits the edge after {1, 2}
  EXPECT_EQ(t.size(), 7u);
  EXPECT_EQ(t.match(Tokens{1, 2, 7, 8, 9}), 4u);
  EXPECT_EQ(t.match(Tokens{1, 2, 3, 4}), 4u);
  t.insert(Tokens{1, 2}, clock.now());  // already covered
  EXPECT_EQ(t.size(), 7u);
  t.insert(Tokens{1, 2, 3}, clock.now());
  EXPECT_EQ(t.size(), 7u);
}

TEST(ApproxTreeTest, EvictsOnlyEntriesOlderThanTheCutoff) {
  FakeClock clock;
  ApproxTree t(1000);
  t.insert(Tokens{1, 2, 3, 4}, clock.now());
  clock.advance(seconds(100));
  t.insert(Tokens{1, 2, 9, 9, 9}, clock.now());  // refreshes {1, 2}, adds {9, 9, 9}
  EXPECT_EQ(t.size(), 7u);
  // Cutoff between the two inserts: only the old branch {3, 4} goes.
  EXPECT_EQ(t.evict_expired(clock.now() - seconds(50)), 2u);
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.match(Tokens{1, 2, 3, 4}), 2u);
  EXPECT_EQ(t.match(Tokens{1, 2, 9, 9, 9}), 5u);
  EXPECT_EQ(t.evict_expired(clock.now() + seconds(1)), 5u);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.match(Tokens{1, 2}), 0u);
}

TEST(ApproxTreeTest, SizeBoundEvictsLeastRecentlyUsedLeaves) {
  FakeClock clock;
  ApproxTree t(10);
  t.insert(Tokens{1, 1, 1, 1}, clock.now());
  clock.advance(seconds(1));
  t.insert(Tokens{2, 2, 2, 2}, clock.now());
  clock.advance(seconds(1));
  t.insert(Tokens{3, 3, 3, 3}, clock.now());  // 12 tokens > 10: the oldest branch goes
  EXPECT_EQ(t.size(), 8u);
  EXPECT_EQ(t.match(Tokens{1, 1}), 0u);
  EXPECT_EQ(t.match(Tokens{2, 2}), 2u);
  EXPECT_EQ(t.match(Tokens{3, 3}), 2u);
}

TEST(ApproxTreeTest, RandomInsertsKeepSizeConsistentWithMatches) {
  // Randomized invariant check: after every insert the inserted sequence matches in full (it is
  // the newest entry, so never evicted) and size never exceeds the bound.
  FakeClock clock;
  ApproxTree t(300);
  std::mt19937 rng(3);
  std::vector<Tokens> seqs;
  for (int i = 0; i < 500; ++i) {
    Tokens s;
    if (!seqs.empty() && rng() % 2) {
      // Share a prefix (at most 100 tokens, so one sequence always fits the bound) with an
      // earlier sequence: exercises edge splits.
      s = seqs[rng() % seqs.size()];
      s.resize(std::min<size_t>(rng() % (s.size() + 1), 100));
    }
    size_t extra = rng() % 20 + 1;
    for (size_t k = 0; k < extra; ++k) s.push_back(static_cast<int32_t>(rng() % 4));
    clock.advance(seconds(1));
    t.insert(s, clock.now());
    seqs.push_back(s);
    ASSERT_EQ(t.match(s), s.size()) << "insert " << i;
    ASSERT_LE(t.size(), 300u);
  }
}

}  // namespace
}  // namespace tandem::gateway::routing
