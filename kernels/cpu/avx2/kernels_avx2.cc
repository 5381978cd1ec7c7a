// The AVX2 kernel table: the generic float kernels on 8-lane vectors plus the AVX2
// integer matmul. Compiled with -mavx2 -mfma -mf16c; selected only when the CPU has them.
#include "kernels/cpu/generic/kernel_table_impl.h"
#include "kernels/cpu/avx2/q8_gemm_avx2.h"
#include "kernels/cpu/simd/vec_avx2.h"

namespace tandem::kernels::cpu {

namespace {
using V = avx2::VecF;
}  // namespace

const KernelTable& avx2_kernel_table() {
  static const KernelTable table = [] {
    KernelTable t = generic::float_kernel_table<V>(CpuIsa::kAvx2);
    t.act_offset = avx2::act_offset;
    t.quantize_acts = avx2::quantize_acts;
    t.gemm_q = avx2::gemm_q;
    t.gemm_q_tile_rows = 1;
    t.gemm_q_scratch_bytes = avx2::gemm_q_scratch_bytes;
    return t;
  }();
  return table;
}

}  // namespace tandem::kernels::cpu
