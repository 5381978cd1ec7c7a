// Quantized-weight matmul driver: quantize x once (act_quant.h), then split the output columns
// (in the ISA's tiles of packed weight rows) over the pool. When there are too few tiles to keep
// every thread busy, the activation rows are split as well (each part re-packs its tiles).
#include <algorithm>
#include <cmath>

#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

namespace {

void matmul_quantized_one_level(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y) {
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

// x_split row 2r = x[r]; row 2r+1 = x[r] minus its one-level int8 approximation (the same rule
// as act_quant.h: d = amax/127, q = rint(x * 127/amax)), which the second level then quantizes.
void split_activations(const float* x, int64_t rows, int64_t k, float* x_split) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * k;
    float* hi = x_split + 2 * r * k;
    float* lo = hi + k;
    for (int64_t b = 0; b < k; b += kActBlock) {
      float amax = 0.0f;
      for (int j = 0; j < kActBlock; ++j) amax = std::max(amax, std::fabs(src[b + j]));
      const float d = amax / 127.0f;
      const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
      for (int j = 0; j < kActBlock; ++j) {
        hi[b + j] = src[b + j];
        lo[b + j] = src[b + j] - std::nearbyint(src[b + j] * id) * d;
      }
    }
  }
}

}  // namespace

void matmul_quantized(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y) {
  if (!ctx.two_level_acts) {
    matmul_quantized_one_level(ctx, x, m, w, bias, y);
    return;
  }
  // Both levels go through the one-level kernel as 2m rows; a row's pair sits in the same
  // microkernel group, so every weight byte loaded still feeds both (decode stays memory-bound).
  const int64_t n = w.rows(), k = w.cols();
  auto* xs = reinterpret_cast<float*>(ctx.split_x.ensure(2 * m * k * int64_t(sizeof(float))));
  auto* ys = reinterpret_cast<float*>(ctx.split_y.ensure(2 * m * n * int64_t(sizeof(float))));
  if (m * k >= kMinParallelElements && m > 1) {
    ctx.pool.parallel_for(m, [&](int64_t r0, int64_t r1, int) { split_activations(x + r0 * k, r1 - r0, k, xs + 2 * r0 * k); });
  } else {
    split_activations(x, m, k, xs);
  }
  matmul_quantized_one_level(ctx, xs, 2 * m, w, nullptr, ys);
  for (int64_t r = 0; r < m; ++r) {
    const float* hi = ys + 2 * r * n;
    const float* lo = hi + n;
    float* out = y + r * n;
    if (bias) {
      for (int64_t j = 0; j < n; ++j) out[j] = (hi[j] + lo[j]) + bias[j];
    } else {
      for (int64_t j = 0; j < n; ++j) out[j] = hi[j] + lo[j];
    }
  }
}

}  // namespace tandem::kernels::cpu
