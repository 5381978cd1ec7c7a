// The ISA-specific inner loops of the CPU backend, one table per ISA level (scalar/, avx2/,
// avx512/ each fill one). The drivers (matmul_q8.cc, attention.cc, ...) own argument checks,
// work splitting and scratch memory; table functions only compute on the range they are given.
// Table functions are called from pool threads concurrently on disjoint outputs; each gets its
// own scratch buffer.
#pragma once

#include <cstdint>

#include "common/dtype.h"
#include "kernels/backend.h"
#include "kernels/cpu/act_quant.h"
#include "kernels/cpu/cpu_backend.h"

namespace tandem::kernels::cpu {

// A quantized matmul y[m, n] = x . W^T with x already quantized.
struct QGemmArgs {
  DType type;
  const uint8_t* w;     // [n] rows of row_bytes each
  size_t row_bytes;
  int64_t n, k;
  const ActQ8* acts;    // m rows
  const float* bias;    // [n] or nullptr
  float* y;             // [m, n]
};

// A float-weight matmul (F32 / F16 / BF16 weights, float activations).
struct FGemmArgs {
  DType type;
  const uint8_t* w;
  size_t row_bytes;
  int64_t n, k, m;
  const float* x;       // [m, k]
  const float* bias;
  float* y;             // [m, n]
};

// One attention work item: query rows [q_begin, q_end) of one sequence against one kv head, over
// context positions [ctx_begin, ctx_end) (a split of the context when the driver splits long
// contexts). Rows of the item are (query row, head in group) pairs, query-major.
struct AttentionItem {
  const float* q;         // the batch's q [rows, n_heads * head_dim]
  DType cache_type;       // kF32, kF16 or kBF16 elements in k_cache / v_cache
  const void* k_cache;
  const void* v_cache;
  const int32_t* slots;   // this sequence's slots, position-indexed
  int64_t q_row0;         // global row of the sequence's first new query row
  int q_begin, q_end;     // new-row indices within the sequence
  int first_pos;          // context position of new row 0 (ctx_len - q_len)
  int ctx_begin, ctx_end;
  int kv_head, group, n_heads, n_kv_heads, head_dim;
  float scale;
  // Either final output (partial == nullptr): out rows [q_row0 + i] at head offsets; or, for a
  // split context, per item row r: partial_m[r], partial_l[r], partial_o[r * head_dim ...].
  float* out;
  float* partial_m;
  float* partial_l;
  float* partial_o;
};

struct KernelTable {
  CpuIsa isa;

  // --- integer matmul ---
  // Zero point of the packed weights this ISA uses for `type` (see act_quant.h `offset`).
  int (*act_offset)(DType type);
  // Quantizes rows [r0, r1) of x [m, k] into acts.
  void (*quantize_acts)(const float* x, int64_t r0, int64_t r1, int offset, const ActQ8& acts);
  // Computes y[r0:r1, n0:n1]. n0 is a multiple of gemm_q_tile_rows.
  void (*gemm_q)(const QGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, uint8_t* scratch);
  int gemm_q_tile_rows;
  int64_t (*gemm_q_scratch_bytes)(const QGemmArgs& a);

  // --- float matmul ---
  void (*gemm_f)(const FGemmArgs& a, int64_t n0, int64_t n1, int64_t r0, int64_t r1, float* scratch);
  int gemm_f_tile_rows;
  int64_t (*gemm_f_scratch_floats)(const FGemmArgs& a);

  // --- row ops (rows [r0, r1)) ---
  void (*rms_norm)(const float* x, const float* w, int64_t r0, int64_t r1, int64_t dim, float eps, float* out);
  void (*add_rms_norm)(float* res, const float* x, const float* w, int64_t r0, int64_t r1, int64_t dim,
                       float eps, float* out);
  // Rotates tokens [t0, t1): cos_sin rows are [rotary_dim cos factors, rotary_dim signed sin
  // factors] per token (rope.cc builds them), partner element = pair swap (neox: other half).
  void (*rope)(float* x, const float* const* cos_sin, int64_t t0, int64_t t1, int n_heads, int head_dim,
               int rotary_dim, bool neox);
  void (*silu_mul)(const float* gate_up, int64_t r0, int64_t r1, int64_t ff, float* out);
  void (*add)(float* x, const float* y, int64_t i0, int64_t i1);
  // dst[0, n) = src rounded to F16 or BF16 (nearest even).
  void (*convert_half)(DType type, const float* src, uint16_t* dst, int64_t n);

  // --- attention ---
  // items[0, count): the same query rows and context for consecutive kv heads (one unit of work).
  void (*attention)(const AttentionItem* items, int count, float* scratch);
  int64_t (*attention_scratch_floats)(int rows, int head_dim);
};

const KernelTable& scalar_kernel_table();
const KernelTable& avx2_kernel_table();
const KernelTable& avx512_kernel_table();

}  // namespace tandem::kernels::cpu
