// The scalar kernel table: the generic float kernels on one-lane vectors plus the scalar
// integer matmul. Compiled without ISA flags; runs anywhere.
#include "kernels/cpu/generic/attention_impl.h"
#include "kernels/cpu/generic/gemm_float_impl.h"
#include "kernels/cpu/generic/row_ops_impl.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/cpu/scalar/q8_gemm_scalar.h"
#include "kernels/cpu/simd/vec_scalar.h"

namespace tandem::kernels::cpu {

namespace {
using V = scalar::VecF;
int64_t gemm_f_scratch(const FGemmArgs&) { return generic::gemm_f_scratch_floats(); }
}  // namespace

const KernelTable& scalar_kernel_table() {
  static const KernelTable table = {
      .isa = CpuIsa::kScalar,
      .act_offset = scalar::act_offset,
      .quantize_acts = scalar::quantize_acts,
      .gemm_q = scalar::gemm_q,
      .gemm_q_tile_rows = 1,
      .gemm_q_scratch_bytes = scalar::gemm_q_scratch_bytes,
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
