// AVX-512 VNNI integer matmul: 16 weight rows are packed per K chunk (q8_pack_avx512.h) and a
// microkernel sweeps up to 8 activation rows at a time over the pack, so each weight byte loaded
// from memory feeds every activation row of the call.
#pragma once

#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::avx512 {

int act_offset(DType type);
void quantize_acts(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& acts);
void gemm_q(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch);
int64_t gemm_q_scratch_bytes(const QGemmArgs& a);

}  // namespace tandem::kernels::cpu::avx512
