// The AVX-512 kernel table: the generic float kernels on 16-lane vectors plus the VNNI
// integer matmul. Compiled with AVX-512 F/BW/VL/DQ/VNNI flags; selected only when the CPU has them.
#include "kernels/cpu/generic/kernel_table_impl.h"
#include "kernels/cpu/avx512/q8_gemm_avx512.h"
#include "kernels/cpu/avx512/q8_pack_avx512.h"
#include "kernels/cpu/simd/vec_avx512.h"

namespace tandem::kernels::cpu {

namespace {
using V = avx512::VecF;
}  // namespace

const KernelTable& avx512_kernel_table() {
  static const KernelTable table = [] {
    KernelTable t = generic::float_kernel_table<V>(CpuIsa::kAvx512);
    t.act_offset = avx512::act_offset;
    t.quantize_acts = avx512::quantize_acts;
    t.gemm_q = avx512::gemm_q;
    t.gemm_q_tile_rows = avx512::kTileRows;
    t.gemm_q_scratch_bytes = avx512::gemm_q_scratch_bytes;
    return t;
  }();
  return table;
}

}  // namespace tandem::kernels::cpu
