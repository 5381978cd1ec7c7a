// The AVX-512 kernel table: the generic float kernels on 16-lane vectors plus the VNNI
// integer matmul. Compiled with AVX-512 F/BW/VL/DQ/VNNI flags; selected only when the CPU has them.
#include "kernels/cpu/generic/attention_impl.h"
#include "kernels/cpu/generic/gemm_float_impl.h"
#include "kernels/cpu/generic/row_ops_impl.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/avx512/q8_gemm_avx512.h"
#include "kernels/cpu/avx512/q8_pack_avx512.h"
#include "kernels/cpu/simd/vec_avx512.h"

namespace tandem::kernels::cpu {

namespace {
using V = avx512::VecF;
int64_t gemm_f_scratch(const FGemmArgs&) { return generic::gemm_f_scratch_floats(); }
}  // namespace

const KernelTable& avx512_kernel_table() {
  static const KernelTable table = {
      .isa = CpuIsa::kAvx512,
      .act_offset = avx512::act_offset,
      .quantize_acts = avx512::quantize_acts,
      .gemm_q = avx512::gemm_q,
      .gemm_q_tile_rows = avx512::kTileRows,
      .gemm_q_scratch_bytes = avx512::gemm_q_scratch_bytes,
      .gemm_f = generic::gemm_f<V>,
      .gemm_f_tile_rows = generic::kFloatTileRows,
      .gemm_f_scratch_floats = gemm_f_scratch,
      .rms_norm = generic::rms_norm_rows<V>,
      .add_rms_norm = generic::add_rms_norm_rows<V>,
      .rope = generic::rope_rows<V>,
      .silu_mul = generic::silu_mul_rows<V>,
      .add = generic::add_range<V>,
      .convert_half = generic::convert_half<V>,
      .attention = generic::attention_items<V>,
      .attention_scratch_floats = generic::attention_scratch_floats,
  };
  return table;
}

}  // namespace tandem::kernels::cpu
