// The CPU backend's op drivers: argument checks, work splitting over the pool, scratch, then the
// ISA kernels of ctx.table. One file per op family implements them (matmul_q8.cc,
// matmul_float.cc, attention.cc, norm.cc, rope.cc, elementwise.cc, embed.cc).
// Thread model: caller (engine) thread; they block until the pool is done.
#pragma once

#include <cstdint>

#include "common/tensor_view.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_context.h"

namespace tandem::kernels::cpu {

void matmul_quantized(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y);
void matmul_float(CpuContext& ctx, const float* x, int64_t m, const TensorView& w, const float* bias, float* y);
void embed(CpuContext& ctx, const TensorView& table, const int32_t* ids, int64_t n, float* out);
void rms_norm(CpuContext& ctx, const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out);
void add_rms_norm(CpuContext& ctx, float* residual, const float* x, const float* weight, int64_t rows, int64_t dim,
                  float eps, float* out);
void rope(CpuContext& ctx, float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg);
void silu_mul(CpuContext& ctx, const float* gate_up, int64_t rows, int64_t ff, float* out);
void add(CpuContext& ctx, float* x, const float* y, int64_t n);
void store_kv(CpuContext& ctx, float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim);
// cache_type kF16 / kBF16: caches hold uint16 elements.
void store_kv_half(CpuContext& ctx, DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                   const int32_t* slots, int64_t tokens, int64_t kv_dim);
// cache_type kF32 / kF16 / kBF16.
void attention(CpuContext& ctx, DType cache_type, const float* q, const void* k_cache, const void* v_cache,
               const AttentionBatch& batch, float* out);

}  // namespace tandem::kernels::cpu
