#include "worker/runtime/kv_cache.h"

#include "common/check.h"

namespace tandem::runtime {

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

KvCache::KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype)
    : num_layers_(num_layers), kv_dim_(kv_dim), dtype_(dtype), allocator_(num_slots) {
  CHECK(dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16,
        "KV cache dtype must be F32, F16 or BF16, got {}", dtype_name(dtype));
  const size_t layer_bytes = static_cast<size_t>(num_slots) * row_bytes(dtype, kv_dim);
  k_.resize(num_layers);
  v_.resize(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    k_[l].assign(layer_bytes, 0);
    v_[l].assign(layer_bytes, 0);
  }
}

size_t KvCache::bytes() const { return 2ull * num_layers_ * num_slots() * row_bytes(dtype_, kv_dim_); }

}  // namespace tandem::runtime
