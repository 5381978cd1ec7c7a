#include "scheduler/slot_allocator.h"

#include "common/check.h"

namespace tandem::scheduler {

SlotAllocator::SlotAllocator(int32_t num_slots) : num_slots_(num_slots), allocated_(num_slots, 0) {
  CHECK(num_slots > 0, "KV cache needs at least one slot, got {}", num_slots);
  free_.reserve(num_slots);
  for (int32_t s = num_slots - 1; s >= 0; --s) free_.push_back(s);
}

Status SlotAllocator::allocate(int32_t n, std::vector<int32_t>& out) {
  if (n < 0) return invalid_argument("cannot allocate {} KV slots", n);
  if (n > num_free()) {
    return resource_exhausted("KV cache full: need {} slots, {} of {} free", n, num_free(), num_slots_);
  }
  for (int32_t i = 0; i < n; ++i) {
    int32_t s = free_.back();
    free_.pop_back();
    allocated_[s] = 1;
    out.push_back(s);
  }
  return Status::Ok();
}

void SlotAllocator::release(std::span<const int32_t> slots) {
  for (int32_t s : slots) {
    CHECK(s >= 0 && s < num_slots_, "releasing slot {} outside the pool of {}", s, num_slots_);
    CHECK(allocated_[s] == 1, "slot {} released twice", s);
    allocated_[s] = 0;
    free_.push_back(s);
  }
}

}  // namespace tandem::scheduler
