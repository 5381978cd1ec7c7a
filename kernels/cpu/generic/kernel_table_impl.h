// The float half of every ISA's kernel table: the generic kernels instantiated on that ISA's vector
// type. Included only by the per-ISA table files, each compiled with its own -m flags; `static`
// keeps every instantiation inside its translation unit (no cross-ISA symbol sharing).
#pragma once

#include "kernels/cpu/generic/attention_impl.h"
#include "kernels/cpu/generic/gemm_float_impl.h"
#include "kernels/cpu/generic/row_ops_impl.h"
#include "kernels/cpu/kernel_table.h"

namespace tandem::kernels::cpu::generic {

static inline int64_t gemm_f_scratch(const FGemmArgs&) { return gemm_f_scratch_floats(); }

// A table with `isa` and every float kernel set; the caller fills in the integer matmul entries.
template <class V>
static KernelTable float_kernel_table(CpuIsa isa) {
  KernelTable t{};
  t.isa = isa;
  t.gemm_f = gemm_f<V>;
  t.gemm_f_tile_rows = kFloatTileRows;
  t.gemm_f_scratch_floats = gemm_f_scratch;
  t.rms_norm = rms_norm_rows<V>;
  t.add_rms_norm = add_rms_norm_rows<V>;
  t.rope = rope_rows<V>;
  t.silu_mul = silu_mul_rows<V>;
  t.add = add_range<V>;
  t.convert_half = convert_half<V>;
  t.attention = attention_items<V>;
  t.attention_scratch_floats = attention_scratch_floats;
  return t;
}

}  // namespace tandem::kernels::cpu::generic
