// AVX2 integer matmul: one weight row decoded at a time (row_prep.h form), then dotted with up to
// four activation rows per pass through vpmaddubsw / vpmaddwd. Compiled with -mavx2 -mfma -mf16c.
#pragma once

#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::avx2 {

int act_offset(DType type);
void quantize_acts(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& acts);
void gemm_q(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch);
int64_t gemm_q_scratch_bytes(const QGemmArgs& a);

}  // namespace tandem::kernels::cpu::avx2
