// A fixed pool of compute threads for kernels. parallel_for splits [0, n) into contiguous
// ranges (chunks, a few per thread) that the calling thread and the workers claim dynamically,
// and returns when every chunk is done. Because the caller also claims chunks, a worker that the
// OS has not scheduled yet (an oversubscribed machine) delays nothing: its chunks are taken by
// whoever is running. Workers spin briefly between jobs and then sleep, so back-to-back small
// kernels (a decode step issues hundreds) pay microseconds, not a futex round trip each.
// Thread model: one caller at a time (the engine thread owns its pool); not reentrant.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem {

class ThreadPool {
 public:
  // num_threads <= 0: hardware concurrency. The caller counts as one of the threads.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return num_threads_; }

  // fn(begin, end, thread_index) over a partition of [0, n) into ranges that are multiples of
  // `grain` (except the last), so callers can keep SIMD blocks or cache tiles whole. A thread may
  // receive several ranges; thread_index (0 = the caller, < size()) is unique among threads
  // running concurrently, so per-thread scratch indexed by it is safe.
  using RangeFn = std::function<void(int64_t begin, int64_t end, int thread_index)>;
  void parallel_for(int64_t n, const RangeFn& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);
  // Claims and runs chunks of job `generation` until none are left.
  void run_chunks(int index, uint32_t generation);

  int num_threads_;
  std::vector<std::thread> threads_;
  // Generation, chunk count and next unclaimed chunk in one word (thread_pool.cc). A chunk is
  // claimed by a CAS that also proves the job is still current, so a late worker never runs or
  // counts a stale job.
  std::atomic<uint64_t> work_{0};
  std::atomic<int64_t> done_{0};  // chunks finished in the current job
  std::atomic<bool> stop_{false};
  uint32_t generation_ = 0;  // caller's copy
  std::mutex mu_;
  std::condition_variable cv_;
  // The current job, written by the caller before publishing its generation in work_.
  std::atomic<const RangeFn*> fn_{nullptr};
  std::atomic<int64_t> n_{0};
  std::atomic<int64_t> grain_{1};
};

}  // namespace tandem
