// A fixed pool of compute threads for kernels. parallel_for splits [0, n) into contiguous
// ranges, one per thread (the calling thread takes range 0), and returns when all are done.
// Workers spin briefly between jobs and then sleep, so back-to-back small kernels (a decode step
// issues hundreds) pay microseconds, not a futex round trip each.
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

  // fn(begin, end, thread_index) over a partition of [0, n). Ranges are multiples of `grain`
  // (except the last) so callers can keep SIMD blocks or cache tiles whole.
  using RangeFn = std::function<void(int64_t begin, int64_t end, int thread_index)>;
  void parallel_for(int64_t n, const RangeFn& fn, int64_t grain = 1);

 private:
  void worker_loop(int index);
  void run_share(int index);

  int num_threads_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  // Current job (written by the caller before bumping generation_).
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t grain_ = 1;
  int active_ = 0;  // threads taking part in the current job
};

}  // namespace tandem
