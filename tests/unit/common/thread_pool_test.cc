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

// thread_index identifies the executing thread (kernels key per-thread scratch on it): it is in
// range, and two ranges with the same index never run at the same time.
TEST(ThreadPoolTest, ThreadIndexIsExclusivePerThread) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> busy(3);
  std::atomic<int> violations{0};
  for (int rep = 0; rep < 200; ++rep) {
    pool.parallel_for(64, [&](int64_t, int64_t, int t) {
      ASSERT_GE(t, 0);
      ASSERT_LT(t, 3);
      if (busy[t].fetch_add(1) != 0) violations++;
      for (volatile int spin = 0; spin < 200; ++spin) {
      }
      busy[t].fetch_sub(1);
    });
  }
  EXPECT_EQ(violations.load(), 0);
}

}  // namespace
}  // namespace tandem
