// Token-slot KV cache of one worker: for every layer a K and a V array [num_slots, kv_dim] (float32
// on CPU), and a slot allocator. A request owns a list of slot indices (its page table flattened to
// tokens); slots need not be contiguous, so prefixes can later be shared by the radix cache.
// Engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/dtype.h"
#include "common/status.h"

namespace tandem::runtime {

class SlotAllocator {
 public:
  explicit SlotAllocator(int32_t num_slots);
  int32_t num_slots() const { return num_slots_; }
  int32_t num_free() const { return static_cast<int32_t>(free_.size()); }
  // Appends n slots to `out`, or fails with kResourceExhausted leaving `out` untouched.
  Status allocate(int32_t n, std::vector<int32_t>& out);
  // Returns slots to the pool. CHECKs that each slot is currently allocated (double free guard).
  void release(std::span<const int32_t> slots);

 private:
  int32_t num_slots_;
  std::vector<int32_t> free_;        // stack; lowest slots handed out first
  std::vector<uint8_t> allocated_;   // per slot, for the exactly-once release invariant
};

// dtype F32 (exact), F16 or BF16 (half the bytes: decode attention streams every sequence's whole
// context each step, so at large batches the cache, not the weights, dominates memory traffic).
class KvCache {
 public:
  KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype = DType::kF32);
  int num_layers() const { return num_layers_; }
  int kv_dim() const { return kv_dim_; }
  DType dtype() const { return dtype_; }
  int32_t num_slots() const { return allocator_.num_slots(); }
  void* k(int layer) { return k_[layer].data(); }
  void* v(int layer) { return v_[layer].data(); }
  SlotAllocator& allocator() { return allocator_; }
  size_t bytes() const;

 private:
  int num_layers_;
  int kv_dim_;
  DType dtype_;
  std::vector<std::vector<uint8_t>> k_, v_;
  SlotAllocator allocator_;
};

}  // namespace tandem::runtime
