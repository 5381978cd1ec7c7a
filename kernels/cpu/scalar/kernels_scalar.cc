// The scalar kernel table: the generic float kernels on one-lane vectors plus the scalar
// integer matmul. Compiled without ISA flags; runs anywhere.
#include "kernels/cpu/generic/kernel_table_impl.h"
#include "kernels/cpu/scalar/q8_gemm_scalar.h"
#include "kernels/cpu/simd/vec_scalar.h"

namespace tandem::kernels::cpu {

namespace {
using V = scalar::VecF;
}  // namespace

const KernelTable& scalar_kernel_table() {
  static const KernelTable table = [] {
    KernelTable t = generic::float_kernel_table<V>(CpuIsa::kScalar);
    t.act_offset = scalar::act_offset;
    t.quantize_acts = scalar::quantize_acts;
    t.gemm_q = scalar::gemm_q;
    t.gemm_q_tile_rows = 1;
    t.gemm_q_scratch_bytes = scalar::gemm_q_scratch_bytes;
    return t;
  }();
  return table;
}

}  // namespace tandem::kernels::cpu
