#include "common/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#define TANDEM_PAUSE() _mm_pause()
#else
#define TANDEM_PAUSE() \
  do {                 \
  } while (0)
#endif

namespace tandem {

namespace {
// Workers spin this many pauses for the next job before sleeping on the condition variable;
// every 64th iteration yields so that, with more threads than free cores (other processes,
// oversubscribed tests), a spinning worker does not steal the core a straggler needs.
constexpr int kSpinIterations = 20000;
// The caller spins this long for the last chunks, then sleeps on done_: if a worker holding a
// chunk was preempted (an oversubscribed machine), a sleeping caller frees its core so the
// scheduler can run the worker there, instead of spinning through the worker's lost time slice.
constexpr int kCallerSpinIterations = 2000;
// Chunks per thread: enough that a late or slow thread leaves little for the others to wait on,
// few enough that claiming (one CAS each) stays negligible.
constexpr int64_t kChunksPerThread = 4;
constexpr int64_t kMaxChunks = 0xffff;

// work_ layout: generation (32 bits) | chunk count (16) | next unclaimed chunk (16). The count
// lives in the same word as the claim cursor so a claim can never be checked against another
// job's count (the race that a separate counter allows while the caller sets up the next job).
uint32_t generation_of(uint64_t w) { return static_cast<uint32_t>(w >> 32); }
int64_t chunks_of(uint64_t w) { return static_cast<int64_t>((w >> 16) & 0xffffu); }
int64_t next_of(uint64_t w) { return static_cast<int64_t>(w & 0xffffu); }
uint64_t make_work(uint32_t generation, int64_t chunks) {
  return static_cast<uint64_t>(generation) << 32 | static_cast<uint64_t>(chunks) << 16;
}
}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) num_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  num_threads_ = num_threads;
  for (int i = 1; i < num_threads_; ++i) threads_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    ++generation_;
    work_.store(make_work(generation_, 0), std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::run_chunks(int index, uint32_t generation) {
  while (true) {
    uint64_t w = work_.load(std::memory_order_acquire);
    if (generation_of(w) != generation) return;
    const int64_t chunk = next_of(w), chunks = chunks_of(w);
    if (chunk >= chunks) return;
    // Job fields are read after seeing an unclaimed chunk and before the CAS that claims it. If
    // the CAS succeeds the word never changed, so the job was unfinished throughout and the
    // caller (which rewrites the fields only between jobs) cannot have touched them.
    const RangeFn* fn = fn_.load(std::memory_order_relaxed);
    const int64_t n = n_.load(std::memory_order_relaxed);
    const int64_t grain = grain_.load(std::memory_order_relaxed);
    if (!work_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel)) continue;
    const int64_t blocks = (n + grain - 1) / grain;
    const int64_t begin = std::min(n, blocks * chunk / chunks * grain);
    const int64_t end = std::min(n, blocks * (chunk + 1) / chunks * grain);
    if (begin < end) (*fn)(begin, end, index);
    done_.fetch_add(1, std::memory_order_release);
    done_.notify_all();  // no system call unless the caller is asleep in wait()
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t blocks = (n + grain - 1) / grain;
  if (num_threads_ <= 1 || blocks <= 1) {
    fn(0, n, 0);
    return;
  }
  const int64_t chunks = std::min({blocks, kChunksPerThread * num_threads_, kMaxChunks});
  fn_.store(&fn, std::memory_order_relaxed);
  n_.store(n, std::memory_order_relaxed);
  grain_.store(grain, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(mu_);  // pairs with the workers' wait predicate: no lost wakeup
    ++generation_;
    work_.store(make_work(generation_, chunks), std::memory_order_release);
  }
  cv_.notify_all();
  run_chunks(0, generation_);
  for (int spin = 0; spin < kCallerSpinIterations; ++spin) {
    if (done_.load(std::memory_order_acquire) == chunks) return;
    TANDEM_PAUSE();
  }
  for (int64_t d = done_.load(std::memory_order_acquire); d != chunks; d = done_.load(std::memory_order_acquire)) {
    done_.wait(d, std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int index) {
  uint32_t seen = 0;
  while (true) {
    uint32_t gen = generation_of(work_.load(std::memory_order_acquire));
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      if (spin % 64 == 63) {
        std::this_thread::yield();
      } else {
        TANDEM_PAUSE();
      }
      gen = generation_of(work_.load(std::memory_order_acquire));
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_of(work_.load(std::memory_order_acquire)) != seen; });
      gen = generation_of(work_.load(std::memory_order_acquire));
    }
    seen = gen;
    if (stop_.load()) return;
    run_chunks(index, gen);
  }
}

}  // namespace tandem
