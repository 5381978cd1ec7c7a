#include "common/thread_pool.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(ThreadPoolTest, CoversRangeExactlyOnceWithGrain) {
  ThreadPool pool(4);
  for (int64_t n : {1, 3, 7, 64, 1000, 4097}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, [&](int64_t b, int64_t e, int) {
      EXPECT_TRUE(b % 8 == 0) << b;
      for (int64_t i = b; i < e; ++i) hits[i]++;
    }, /*grain=*/8);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPoolTest, ManySmallJobsBackToBack) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 20000; ++rep) {
    pool.parallel_for(6, [&](int64_t b, int64_t e, int) { sum += e - b; });
  }
  EXPECT_EQ(sum.load(), 6 * 20000);
}

TEST(ThreadPoolTest, UsesDistinctThreadIndices) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> used(2);
  pool.parallel_for(2, [&](int64_t, int64_t, int t) { used[t]++; });
  EXPECT_EQ(used[0].load(), 1);
  EXPECT_EQ(used[1].load(), 1);
}

}  // namespace
}  // namespace tandem
