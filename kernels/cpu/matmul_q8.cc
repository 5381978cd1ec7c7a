// Quantized-weight matmul driver: quantize x once (act_quant.h), then split the output columns
// (in the ISA's tiles of packed weight rows) over the pool. When there are too few tiles to keep
// every thread busy, the activation rows are split as well (each part re-packs its tiles).
#include <algorithm>

#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

void matmul_quantized(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y) {
  const KernelTable& kt = ctx.table;
  const int64_t n = w.rows();
  const int64_t k = w.cols();
  CHECK(k % kActBlock == 0, "matmul: {} weight {} {} has {} columns, not a multiple of 32", dtype_name(w.dtype),
        w.name, w.shape_string(), k);

  ActQ8 acts = ActQ8::carve(ctx.acts.ensure(ActQ8::bytes_needed(m, k)), m, k);
  const int offset = kt.act_offset(w.dtype);
  if (m * k >= kMinParallelElements && m > 1) {
    ctx.pool.parallel_for(m, [&](int64_t r0, int64_t r1, int) { kt.quantize_acts(x, r0, r1, offset, acts); });
  } else {
    kt.quantize_acts(x, 0, m, offset, acts);
  }

  const QGemmArgs args{w.dtype, static_cast<const uint8_t*>(w.data), w.row_stride_bytes(), n, k, &acts, bias, y};
  ctx.reserve_thread_scratch(kt.gemm_q_scratch_bytes(args));
  const int64_t tile = kt.gemm_q_tile_rows;
  const int64_t tiles = (n + tile - 1) / tile;
  const int threads = ctx.pool.size();
  int64_t m_parts = 1;
  if (tiles < 4LL * threads && m > 8) m_parts = std::min<int64_t>((m + 7) / 8, (4LL * threads + tiles - 1) / tiles);
  if (m_parts == 1) {
    ctx.pool.parallel_for(tiles, [&](int64_t t0, int64_t t1, int t) {
      kt.gemm_q(args, t0 * tile, std::min(n, t1 * tile), 0, m, ctx.thread_scratch(t));
    });
    return;
  }
  const int64_t rows_per_part = ((m + m_parts - 1) / m_parts + 7) / 8 * 8;
  ctx.pool.parallel_for(tiles * m_parts, [&](int64_t u0, int64_t u1, int t) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t ti = u / m_parts, part = u % m_parts;
      const int64_t r0 = part * rows_per_part, r1 = std::min(m, r0 + rows_per_part);
      if (r0 < r1) kt.gemm_q(args, ti * tile, std::min(n, (ti + 1) * tile), r0, r1, ctx.thread_scratch(t));
    }
  });
}

}  // namespace tandem::kernels::cpu
