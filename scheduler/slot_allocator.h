// SlotAllocator: the one pool of KV-cache token slots. The scheduler plans with it (admission,
// decode growth, retraction); the worker's KvCache owns the instance that backs its K/V arrays.
// A request holds a list of slot indices (its page table flattened to tokens); slots need not be
// contiguous, so the radix cache can share prefixes between requests.
//
// Thread model: engine thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace tandem::scheduler {

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
  std::vector<int32_t> free_;       // stack; lowest slots handed out first
  std::vector<uint8_t> allocated_;  // per slot, for the exactly-once release invariant
};

}  // namespace tandem::scheduler
