// Embedding lookup: dequantize the requested rows of the table (reference decoders; a prompt's
// worth of rows is a negligible cost next to the matmuls).
#include <cstring>

#include "common/check.h"
#include "kernels/cpu/drivers.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels::cpu {

void embed(CpuContext& ctx, const TensorView& table, const int32_t* ids, int64_t n, float* out) {
  const int64_t dim = table.cols();
  const int64_t vocab = table.rows();
  for (int64_t i = 0; i < n; ++i) {
    CHECK(ids[i] >= -1 && ids[i] < vocab, "embed: token id {} at position {} is outside the vocabulary of {} ({})",
          ids[i], i, vocab, table.name);
  }
  auto rows = [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      if (ids[i] < 0) {
        std::memset(out + i * dim, 0, dim * sizeof(float));
      } else {
        ref::dequantize_row(table.dtype, table.row(ids[i]), dim, out + i * dim);
      }
    }
  };
  if (n > 1 && n * dim >= kMinParallelElements) {
    ctx.pool.parallel_for(n, rows);
  } else {
    rows(0, n, 0);
  }
}

}  // namespace tandem::kernels::cpu
