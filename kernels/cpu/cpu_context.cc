#include "kernels/cpu/cpu_context.h"

#include "common/check.h"

namespace tandem::kernels::cpu {

uint8_t* AlignedBuffer::ensure(int64_t bytes) {
  if (bytes > size_) {
    const int64_t size = (bytes + 4095) & ~int64_t{4095};
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, static_cast<size_t>(size)));
    CHECK(p != nullptr, "out of memory allocating {} bytes of kernel scratch", size);
    data_.reset(p);
    size_ = size;
  }
  return data_.get();
}

CpuContext::CpuContext(int num_threads, const KernelTable& kernels)
    : pool(num_threads), table(kernels), thread_scratch_(static_cast<size_t>(pool.size())) {}

void CpuContext::reserve_thread_scratch(int64_t bytes) {
  for (AlignedBuffer& b : thread_scratch_) b.ensure(bytes);
}

}  // namespace tandem::kernels::cpu
