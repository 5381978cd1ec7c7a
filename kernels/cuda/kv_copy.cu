// Byte rows of a KV cache array by slot index, for disaggregated transfers (worker/pd): gather
// packs the rows of some slots into one buffer, scatter writes packed rows into slots. One launch
// per call; 16-byte loads and stores when the row size and both pointers allow it (KV rows are
// usually a multiple of 16 bytes), else 4-byte, else byte copies.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/launch.h"

namespace tandem::kernels::cuda {

namespace {

// Threads per block. x spans a row (up to kThreads units), y packs several rows into one block:
// small rows (e.g. 384 bytes = 24 uint4) would leave most of a block idle with one row each.
constexpr int kThreads = 256;

// kGather: dst[i] = cache[slots[i]]; else cache[slots[i]] = src[i]. Units of T per row: `units`.
template <typename T, bool kGather>
__global__ void copy_slots_kernel(T* cache, const int32_t* slots, int64_t n, int64_t units, T* packed) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y;
  if (row >= n) return;
  T* c = cache + static_cast<int64_t>(slots[row]) * units;
  T* p = packed + row * units;
  for (int64_t u = threadIdx.x; u < units; u += blockDim.x) {
    if constexpr (kGather) {
      p[u] = c[u];
    } else {
      c[u] = p[u];
    }
  }
}

template <typename T, bool kGather>
void launch(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* packed, cudaStream_t s) {
  const int64_t units = static_cast<int64_t>(row_bytes / sizeof(T));
  // x covers a row (up to kThreads units), y packs several short rows into one block.
  int x = 32;
  while (x < units && x < kThreads) x *= 2;
  const int y = kThreads / x;
  const dim3 block(x, y);
  const int64_t blocks = (n + y - 1) / y;
  copy_slots_kernel<T, kGather><<<static_cast<unsigned>(blocks), block, 0, s>>>(
      static_cast<T*>(cache), slots, n, units, static_cast<T*>(packed));
}

template <bool kGather>
void copy_slots(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* packed, cudaStream_t s) {
  if (n <= 0 || row_bytes == 0) return;
  const auto aligned = [&](size_t a) {
    return row_bytes % a == 0 && reinterpret_cast<uintptr_t>(cache) % a == 0 &&
           reinterpret_cast<uintptr_t>(packed) % a == 0;
  };
  if (aligned(16)) {
    launch<uint4, kGather>(cache, row_bytes, slots, n, packed, s);
  } else if (aligned(4)) {
    launch<uint32_t, kGather>(cache, row_bytes, slots, n, packed, s);
  } else {
    launch<uint8_t, kGather>(cache, row_bytes, slots, n, packed, s);
  }
}

}  // namespace

void gather_slots(const void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* dst, cudaStream_t s) {
  // The kernel template is shared with scatter, which writes the cache; gather only reads it.
  copy_slots<true>(const_cast<void*>(cache), row_bytes, slots, n, dst, s);
}

void scatter_slots(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, const void* src, cudaStream_t s) {
  copy_slots<false>(cache, row_bytes, slots, n, const_cast<void*>(src), s);
}

}  // namespace tandem::kernels::cuda
