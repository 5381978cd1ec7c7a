// silu_mul, add and store_kv drivers.
#include <cstring>

#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

void silu_mul(CpuContext& ctx, const float* gate_up, int64_t rows, int64_t ff, float* out) {
  CHECK(ff > 0 && rows >= 0, "silu_mul: bad shape rows {} ff {}", rows, ff);
  if (rows > 1 && rows * ff >= kMinParallelElements) {
    ctx.pool.parallel_for(rows, [&](int64_t r0, int64_t r1, int) { ctx.table.silu_mul(gate_up, r0, r1, ff, out); });
  } else {
    ctx.table.silu_mul(gate_up, 0, rows, ff, out);
  }
}

void add(CpuContext& ctx, float* x, const float* y, int64_t n) {
  if (n >= 8 * kMinParallelElements) {
    ctx.pool.parallel_for(n, [&](int64_t i0, int64_t i1, int) { ctx.table.add(x, y, i0, i1); }, 64);
  } else {
    ctx.table.add(x, y, 0, n);
  }
}

void store_kv(CpuContext& ctx, float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim) {
  const size_t bytes = static_cast<size_t>(kv_dim) * sizeof(float);
  auto copy = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      CHECK(slots[t] >= 0, "store_kv: negative slot {} for token {}", slots[t], t);
      std::memcpy(k_cache + static_cast<int64_t>(slots[t]) * kv_dim, k + t * kv_dim, bytes);
      std::memcpy(v_cache + static_cast<int64_t>(slots[t]) * kv_dim, v + t * kv_dim, bytes);
    }
  };
  if (tokens > 1 && tokens * kv_dim >= 4 * kMinParallelElements) {
    ctx.pool.parallel_for(tokens, copy);
  } else {
    copy(0, tokens, 0);
  }
}

void store_kv_half(CpuContext& ctx, DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                   const int32_t* slots, int64_t tokens, int64_t kv_dim) {
  CHECK(cache_type == DType::kF16 || cache_type == DType::kBF16, "store_kv_half: cache type {} is not F16 or BF16",
        dtype_name(cache_type));
  auto* kc = static_cast<uint16_t*>(k_cache);
  auto* vc = static_cast<uint16_t*>(v_cache);
  auto convert = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      CHECK(slots[t] >= 0, "store_kv_half: negative slot {} for token {}", slots[t], t);
      const int64_t base = static_cast<int64_t>(slots[t]) * kv_dim;
      ctx.table.convert_half(cache_type, k + t * kv_dim, kc + base, kv_dim);
      ctx.table.convert_half(cache_type, v + t * kv_dim, vc + base, kv_dim);
    }
  };
  if (tokens > 1 && tokens * kv_dim >= kMinParallelElements) {
    ctx.pool.parallel_for(tokens, convert);
  } else {
    convert(0, tokens, 0);
  }
}

}  // namespace tandem::kernels::cpu
