// rms_norm / add_rms_norm drivers: rows split over the pool only when the op is large enough
// to pay for waking it (prefill); a decode step's norms run on the calling thread.
#include "common/check.h"
#include "kernels/cpu/drivers.h"

namespace tandem::kernels::cpu {

void rms_norm(CpuContext& ctx, const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) {
  CHECK(dim > 0 && rows >= 0, "rms_norm: bad shape rows {} dim {}", rows, dim);
  if (rows > 1 && rows * dim >= kMinParallelElements) {
    ctx.pool.parallel_for(rows, [&](int64_t r0, int64_t r1, int) { ctx.table.rms_norm(x, weight, r0, r1, dim, eps, out); });
  } else {
    ctx.table.rms_norm(x, weight, 0, rows, dim, eps, out);
  }
}

void add_rms_norm(CpuContext& ctx, float* residual, const float* x, const float* weight, int64_t rows, int64_t dim,
                  float eps, float* out) {
  CHECK(dim > 0 && rows >= 0, "add_rms_norm: bad shape rows {} dim {}", rows, dim);
  if (rows > 1 && rows * dim >= kMinParallelElements) {
    ctx.pool.parallel_for(rows, [&](int64_t r0, int64_t r1, int) {
      ctx.table.add_rms_norm(residual, x, weight, r0, r1, dim, eps, out);
    });
  } else {
    ctx.table.add_rms_norm(residual, x, weight, 0, rows, dim, eps, out);
  }
}

}  // namespace tandem::kernels::cpu
