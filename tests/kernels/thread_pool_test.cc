// ThreadPool (common/thread_pool.h), which every CPU kernel splits its work through: exact
// partitions, grain alignment, per-thread index exclusivity, and many back-to-back jobs with
// more threads than cores (the case where a late worker must never run a stale job).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/thread_pool.h"

namespace tandem {
namespace {

TEST(ThreadPoolTest, PartitionCoversRangeOnceWithGrainAlignedRanges) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 5, 16, 17, 100, 1000, 4097}) {
      for (int64_t grain : {1, 4, 16, 64}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> bad_begin{0}, bad_index{0};
        pool.parallel_for(n, [&](int64_t b, int64_t e, int t) {
          if (b % grain != 0) ++bad_begin;
          if (t < 0 || t >= threads) ++bad_index;
          for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
        }, grain);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "threads " << threads << " n " << n << " i " << i;
        EXPECT_EQ(bad_begin.load(), 0);
        EXPECT_EQ(bad_index.load(), 0);
      }
    }
  }
}

TEST(ThreadPoolTest, ThreadIndexIsExclusiveWhileRunning) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> in_use(4);
  std::atomic<int> overlaps{0};
  for (int job = 0; job < 200; ++job) {
    pool.parallel_for(64, [&](int64_t, int64_t, int t) {
      if (in_use[t].fetch_add(1) != 0) ++overlaps;
      std::this_thread::yield();
      in_use[t].fetch_sub(1);
    });
  }
  EXPECT_EQ(overlaps.load(), 0);
}

// More threads than this machine has cores, thousands of tiny jobs: each must see exactly its
// own work (a stale or lost job shows up as a wrong sum or a hang).
TEST(ThreadPoolTest, ManyBackToBackJobsOversubscribed) {
  const int threads = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 1;
  ThreadPool pool(threads);
  std::vector<int64_t> data(257);
  for (int job = 0; job < 5000; ++job) {
    const int64_t n = 1 + job % 257;
    std::atomic<int64_t> sum{0};
    pool.parallel_for(n, [&](int64_t b, int64_t e, int) {
      int64_t s = 0;
      for (int64_t i = b; i < e; ++i) s += i + job;
      sum.fetch_add(s);
    });
    ASSERT_EQ(sum.load(), n * (n - 1) / 2 + n * job) << "job " << job;
  }
}

// A range that stalls does not stop the other ranges from completing on other threads, and the
// call returns only after the stalled range is done too.
TEST(ThreadPoolTest, WaitsForSlowRanges) {
  ThreadPool pool(3);
  std::atomic<int> finished{0};
  pool.parallel_for(12, [&](int64_t b, int64_t, int) {
    if (b == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    finished.fetch_add(1);
  });
  EXPECT_EQ(finished.load(), 12);
}

}  // namespace
}  // namespace tandem
