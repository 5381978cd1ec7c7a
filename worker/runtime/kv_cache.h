// Token-slot KV cache of one worker: for every layer a K and a V array [num_slots, kv_dim] (F32, F16
// or BF16), and the slot allocator (scheduler::SlotAllocator, the one pool the scheduler plans with).
// A request owns a list of slot indices (its page table flattened to tokens); slots need not be
// contiguous, so prefixes can be shared by the radix cache.
// The arrays live in host memory, or in a device backend's memory when one is given (the model
// then reads and writes them only through that backend's kernels).
// Engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/dtype.h"
#include "common/status.h"
#include "kernels/backend.h"
#include "scheduler/slot_allocator.h"

namespace tandem::runtime {

// The pool lives in the scheduler (one allocator for planning and for the KV arrays).
using SlotAllocator = scheduler::SlotAllocator;

// dtype F32 (exact), F16 or BF16 (half the bytes: decode attention streams every sequence's whole
// context each step, so at large batches the cache, not the weights, dominates memory traffic).
class KvCache {
 public:
  KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype = DType::kF32);
  // backend: where the arrays live. A host backend (or nullptr) gives the host arrays above.
  KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype, kernels::Backend* backend);
  int num_layers() const { return num_layers_; }
  int kv_dim() const { return kv_dim_; }
  DType dtype() const { return dtype_; }
  int32_t num_slots() const { return allocator_.num_slots(); }
  bool on_device() const { return !dk_.empty(); }
  // The device backend holding the arrays; nullptr for host arrays (worker/pd copies rows with it).
  kernels::Backend* backend() const { return backend_; }
  // Unique per cache object for the life of the process (captured steps key on it: a new cache
  // may reuse an old one's address).
  uint64_t id() const { return id_; }
  void* k(int layer) { return on_device() ? dk_[layer].get() : k_[layer].data(); }
  void* v(int layer) { return on_device() ? dv_[layer].get() : v_[layer].data(); }
  SlotAllocator& allocator() { return allocator_; }
  size_t bytes() const;

 private:
  uint64_t id_;
  int num_layers_;
  int kv_dim_;
  DType dtype_;
  std::vector<std::vector<uint8_t>> k_, v_;
  std::vector<kernels::BackendBuffer> dk_, dv_;  // device arrays (k_, v_ empty then)
  kernels::Backend* backend_ = nullptr;           // set with dk_, dv_
  SlotAllocator allocator_;
};

}  // namespace tandem::runtime
