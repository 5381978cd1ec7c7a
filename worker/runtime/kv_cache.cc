#include "worker/runtime/kv_cache.h"

#include <atomic>

#include "common/check.h"

namespace tandem::runtime {

namespace {
uint64_t next_id() {
  static std::atomic<uint64_t> n{0};
  return ++n;
}
}  // namespace

KvCache::KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype)
    : KvCache(num_layers, num_slots, kv_dim, dtype, nullptr) {}

KvCache::KvCache(int num_layers, int32_t num_slots, int kv_dim, DType dtype, kernels::Backend* backend)
    : id_(next_id()), num_layers_(num_layers), kv_dim_(kv_dim), dtype_(dtype), allocator_(num_slots) {
  CHECK(dtype == DType::kF32 || dtype == DType::kF16 || dtype == DType::kBF16,
        "KV cache dtype must be F32, F16 or BF16, got {}", dtype_name(dtype));
  const size_t layer_bytes = static_cast<size_t>(num_slots) * row_bytes(dtype, kv_dim);
  if (backend && backend->is_device()) {
    // Unwritten slots are never read (attention reads only stored context), so no clearing.
    backend_ = backend;
    for (int l = 0; l < num_layers; ++l) {
      dk_.emplace_back(*backend, layer_bytes);
      dv_.emplace_back(*backend, layer_bytes);
    }
    return;
  }
  k_.resize(num_layers);
  v_.resize(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    k_[l].assign(layer_bytes, 0);
    v_[l].assign(layer_bytes, 0);
  }
}

size_t KvCache::bytes() const { return 2ull * num_layers_ * num_slots() * row_bytes(dtype_, kv_dim_); }

}  // namespace tandem::runtime
