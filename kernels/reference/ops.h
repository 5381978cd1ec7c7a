// Plain scalar implementations of every Backend op: the oracle the CPU and CUDA kernels are
// tested against. Accumulations run in double so the reference is more accurate than anything it
// checks. Semantics are exactly those documented in kernels/backend.h.
// Thread-safe (pure functions over caller memory).
#pragma once

#include <cstdint>

#include "common/tensor_view.h"
#include "kernels/backend.h"

namespace tandem::kernels::ref {

// y[m, n] = x[m, k] . W[n, k]^T (+ bias). W is dequantized row by row (any DType).
// act_quant = true first passes each x row through simulate_act_quant (quant.h): the oracle for
// the integer kernels' own rounding.
void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y,
            bool act_quant = false);

void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out);

void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out);
void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows, int64_t dim,
                  float eps, float* out);

// The per-pair inverse frequencies (rotary_dim / 2 of them) after scaling; angles are
// position * freq[i]. Shared by the CPU backend's table so both agree on the definition.
void rope_frequencies(const RopeConfig& cfg, double* freq);
void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg);

void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out);
void add(float* x, const float* y, int64_t n);
void store_kv(float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim);
void attention(const float* q, const float* k_cache, const float* v_cache, const AttentionBatch& batch,
               float* out);
// Half-precision caches (DType::kF16 / kBF16 elements), as Backend::store_kv_half / attention_half.
void store_kv_half(DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                   const int32_t* slots, int64_t tokens, int64_t kv_dim);
void attention_half(DType cache_type, const float* q, const void* k_cache, const void* v_cache,
                    const AttentionBatch& batch, float* out);

}  // namespace tandem::kernels::ref
