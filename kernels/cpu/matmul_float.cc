// Float-weight (F32 / F16 / BF16) matmul driver: output columns split over the pool in panels
// of gemm_f_tile_rows; activation rows split too when the panels are too few.
#include <algorithm>

#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

void matmul_float(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y) {
  const KernelTable& kt = ctx.table;
  const int64_t n = w.rows();
  const FGemmArgs args{w.dtype, static_cast<const uint8_t*>(w.data), w.row_stride_bytes(), n, w.cols(), m, x, bias, y};
  ctx.reserve_thread_scratch(kt.gemm_f_scratch_floats(args) * 4);
  const int64_t tile = kt.gemm_f_tile_rows;
  const int64_t tiles = (n + tile - 1) / tile;
  const int threads = ctx.pool.size();
  int64_t m_parts = 1;
  if (tiles < 4LL * threads && m > 16) m_parts = std::min<int64_t>((m + 15) / 16, (4LL * threads + tiles - 1) / tiles);
  const int64_t rows_per_part = (m + m_parts - 1) / m_parts;
  ctx.pool.parallel_for(tiles * m_parts, [&](int64_t u0, int64_t u1, int t) {
    auto* scratch = reinterpret_cast<float*>(ctx.thread_scratch(t));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t ti = u / m_parts, part = u % m_parts;
      const int64_t r0 = part * rows_per_part, r1 = std::min(m, r0 + rows_per_part);
      if (r0 < r1) kt.gemm_f(args, ti * tile, std::min(n, (ti + 1) * tile), r0, r1, scratch);
    }
  });
}

}  // namespace tandem::kernels::cpu
