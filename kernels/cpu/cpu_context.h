// State shared by the CPU backend's op drivers: the thread pool, the chosen ISA's kernel table,
// and grow-only scratch memory (so steady-state calls never allocate).
// Thread model: owned by one CpuBackend and used by its caller thread; thread_scratch(t) is
// handed to pool thread t inside parallel regions.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "common/thread_pool.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/rope_cache.h"

namespace tandem::kernels::cpu {

// A 64-byte aligned, grow-only byte buffer.
class AlignedBuffer {
 public:
  uint8_t* ensure(int64_t bytes);
  uint8_t* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  int64_t size_ = 0;
};

struct CpuContext {
  CpuContext(int num_threads, const KernelTable& kernels);

  // Makes every thread's scratch at least `bytes` long (call before a parallel region).
  void reserve_thread_scratch(int64_t bytes);
  uint8_t* thread_scratch(int thread) const { return thread_scratch_[thread].data(); }

  ThreadPool pool;
  const KernelTable& table;
  AlignedBuffer acts;      // quantized activations of the current matmul
  AlignedBuffer split_x;   // two-level activations: [2m, k] rows (x, residual) interleaved
  AlignedBuffer split_y;   // their [2m, n] partial products
  // Activations enter integer matmuls as two int8 levels (x ~ d1*q1 + d2*q2, float-like
  // precision) instead of one (llama.cpp's choice, ~1% relative error per matmul).
  bool two_level_acts = true;
  AlignedBuffer partials;  // attention: per-split partial results
  RopeCache rope;

 private:
  std::vector<AlignedBuffer> thread_scratch_;
};

// Below this many elements an op runs on the calling thread: waking the pool costs more.
inline constexpr int64_t kMinParallelElements = 32 * 1024;

}  // namespace tandem::kernels::cpu
