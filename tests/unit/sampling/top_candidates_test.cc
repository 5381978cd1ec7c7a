#include "worker/sampling/top_candidates.h"

#include <algorithm>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "sampling_test_util.h"
#include "worker/sampling/logit_math.h"
#include "worker/sampling/nucleus.h"

namespace tandem::sampling {
namespace {

// Logits with many exact ties (small integers), some -inf and NaN.
std::vector<float> tied_logits(int32_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> x(n);
  for (float& v : x) {
    const uint32_t r = gen() % 20;
    v = r == 0 ? kNegInf : r == 1 ? std::numeric_limits<float>::quiet_NaN()
                                  : static_cast<float>(r % 6);
  }
  return x;
}

std::vector<int32_t> reference_top(const std::vector<float>& x, int32_t m) {
  std::vector<float> clean(x);
  for (float& v : clean) v = v == v ? v : kNegInf;  // NaN ranks as -inf
  std::vector<int32_t> r = testing::ranked(clean);
  r.resize(std::min<size_t>(r.size(), m));
  return r;
}

TEST(SelectTopTest, MatchesFullSortIncludingTiesMaskedAndNaN) {
  std::vector<Candidate> out;
  // n = 20000 with m in [256, n / 8] takes the sampled-threshold path (and its fallback when ties
  // leave fewer than m tokens above the estimate).
  for (int32_t n : {1, 7, 64, 300, 5000, 20000}) {
    for (int32_t m : {1, 2, 5, 16, 64, 200, 300, 1024, 2000, 5000}) {
      for (uint32_t seed = 0; seed < 3; ++seed) {
        const std::vector<float> x =
            seed == 0 ? testing::random_logits(n, n * 31 + m) : tied_logits(n, seed + n + m);
        const std::vector<int32_t> want = reference_top(x, m);
        select_top(x.data(), n, m, out, /*sorted=*/true);
        ASSERT_EQ(out.size(), want.size()) << "n=" << n << " m=" << m;
        for (size_t j = 0; j < want.size(); ++j) {
          ASSERT_EQ(out[j].id, want[j]) << "n=" << n << " m=" << m << " seed=" << seed << " j=" << j;
        }
        select_top(x.data(), n, m, out, /*sorted=*/false);
        std::set<int32_t> got_set, want_set(want.begin(), want.end());
        for (const Candidate& c : out) got_set.insert(c.id);
        EXPECT_EQ(got_set, want_set) << "unsorted n=" << n << " m=" << m;
      }
    }
  }
}

TEST(SelectTopTest, FewerFiniteThanRequestedFillsWithMaskedByLowestId) {
  std::vector<float> x(100, kNegInf);
  x[50] = 1.0f;
  x[7] = 2.0f;
  std::vector<Candidate> out;
  select_top(x.data(), 100, 5, out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].id, 7);
  EXPECT_EQ(out[1].id, 50);
  EXPECT_EQ(out[2].id, 0);
  EXPECT_EQ(out[3].id, 1);
  EXPECT_EQ(out[4].id, 2);
}

// The nucleus by definition: walk the ranked list, keep while the mass before is < target.
size_t reference_nucleus(std::vector<WeightedCandidate> pool, double target) {
  std::sort(pool.begin(), pool.end(), [](const auto& a, const auto& b) {
    return ranks_before(a.candidate, b.candidate);
  });
  double mass = 0.0;
  size_t keep = 0;
  while (keep < pool.size() && mass < target) mass += pool[keep++].weight;
  return keep;
}

TEST(PartitionNucleusTest, KeepsExactlyTheShortestRankedPrefixReachingTarget) {
  std::mt19937 gen(5);
  for (int32_t n : {1, 10, 33, 100, 2000, 20000}) {
    for (uint32_t seed = 0; seed < 4; ++seed) {
      const std::vector<float> x =
          seed % 2 == 0 ? testing::random_logits(n, n + seed) : tied_logits(n, n + seed);
      const float max = max_logit(x.data(), n);
      std::vector<WeightedCandidate> pool(n);
      double total = 0.0;
      for (int32_t i = 0; i < n; ++i) {
        const float v = x[i] == x[i] ? x[i] : kNegInf;
        pool[i] = {{i, v}, fast_exp(v - max)};
        total += pool[i].weight;
      }
      std::shuffle(pool.begin(), pool.end(), gen);
      // Targets away from round fractions: tied weights make exact coincidences of partial sums
      // with round targets possible, where summation order would decide.
      for (double p : {1e-9, 0.1137, 0.5071, 0.9013, 0.9991}) {
        const double target = p * total;
        const size_t want = reference_nucleus(pool, target);
        std::vector<WeightedCandidate> work = pool;
        const size_t got = partition_nucleus(work, target);
        ASSERT_EQ(got, want) << "n=" << n << " seed=" << seed << " p=" << p;
        // The kept block is the reference prefix as a set.
        std::vector<WeightedCandidate> sorted = pool;
        std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
          return ranks_before(a.candidate, b.candidate);
        });
        std::set<int32_t> want_ids, got_ids;
        for (size_t j = 0; j < want; ++j) want_ids.insert(sorted[j].candidate.id);
        for (size_t j = 0; j < got; ++j) got_ids.insert(work[j].candidate.id);
        EXPECT_EQ(got_ids, want_ids) << "n=" << n << " p=" << p;
      }
    }
  }
}

}  // namespace
}  // namespace tandem::sampling
