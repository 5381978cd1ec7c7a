// Rotary embedding driver: factors come from the RopeCache (computed once per position), the
// rotation itself is the ISA kernel, split over tokens when large.
#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

void rope(CpuContext& ctx, float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg) {
  CHECK(n_heads > 0 && cfg.head_dim > 0, "rope: n_heads {} head_dim {}", n_heads, cfg.head_dim);
  if (tokens <= 0) return;
  const float* const* cs = ctx.rope.rows(cfg, positions, tokens);
  const int64_t elems = tokens * n_heads * cfg.rotary_dim;
  if (tokens > 1 && elems >= kMinParallelElements) {
    ctx.pool.parallel_for(tokens, [&](int64_t t0, int64_t t1, int) {
      ctx.table.rope(x, cs, t0, t1, n_heads, cfg.head_dim, cfg.rotary_dim, cfg.neox);
    });
  } else {
    ctx.table.rope(x, cs, 0, tokens, n_heads, cfg.head_dim, cfg.rotary_dim, cfg.neox);
  }
}

}  // namespace tandem::kernels::cpu
