// Host-side launchers of the CUDA kernels (defined in the .cu files). Plain types only, so the
// .cu files stay free of the project's host headers (fmt, spdlog) and compile quickly. Launchers
// queue work on `stream` and never synchronize; the caller checks cudaGetLastError after each.
// All pointers are device memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/sample_rows.h"

namespace tandem::kernels::cuda {

enum class CacheType { kF32, kF16, kBF16 };

// ---- row ops (elementwise.cu) ----
void embed_bf16(const uint16_t* table, int64_t dim, const int32_t* ids, int64_t n, float* out, cudaStream_t s);
void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* out, cudaStream_t s);
void add_rms_norm(float* resid, const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* out,
                  cudaStream_t s);
// inv_freq: rotary_dim / 2 doubles (after scaling, as ref::rope_frequencies).
void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, int head_dim, int rotary_dim, bool neox,
          const double* inv_freq, cudaStream_t s);
void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out, cudaStream_t s);
void add(float* x, const float* y, int64_t n, cudaStream_t s);
void add_bias(float* y, const float* bias, int64_t m, int64_t n, cudaStream_t s);
void to_bf16(const float* x, int64_t n, uint16_t* out, cudaStream_t s);
void gather_rows(const float* src, int64_t dim, const int32_t* rows, int64_t n, float* dst, cudaStream_t s);
// dst[dst_rows[i]] += weights[i] * src[i] (dst_rows distinct within a call).
void add_rows_weighted(const float* src, int64_t dim, const int32_t* dst_rows, const float* weights, int64_t n,
                       float* dst, cudaStream_t s);
void store_kv(CacheType t, void* k_cache, void* v_cache, const float* k, const float* v, const int32_t* slots,
              int64_t tokens, int64_t kv_dim, cudaStream_t s);

// ---- KV rows by slot (kv_copy.cu): raw bytes, any cache type ----
void gather_slots(const void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* dst, cudaStream_t s);
void scatter_slots(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, const void* src, cudaStream_t s);

// ---- attention (attention.cu) ----
struct AttentionArgs {
  const float* q;  // [total_q, n_heads * head_dim]
  const void* k_cache;
  const void* v_cache;
  const int32_t* q_offsets;
  const int32_t* ctx_lens;
  const int32_t* slot_offsets;
  const int32_t* slots;
  int num_seqs, total_q, n_heads, n_kv_heads, head_dim;
  float scale;
  // Split-KV: each (row, head) splits its own visible keys (position + 1, read on the device)
  // into num_splits equal chunks of at least min_chunk keys, so a launch shape sized for a bound
  // (a captured graph) stays balanced for shorter contexts; splits left without keys exit early.
  // Partial results go to part_o [total_q * n_heads * num_splits, head_dim] and part_ml [.., 2]
  // and a second kernel merges them. num_splits == 1 writes out directly.
  int num_splits, min_chunk;
  float* part_o;
  float* part_ml;
  float* out;  // [total_q, n_heads * head_dim]
};
constexpr int kMaxAttentionSplits = 64;
// Returns false when head_dim is unsupported (> 256) or num_splits is outside [1, 64].
bool attention(CacheType t, const AttentionArgs& a, cudaStream_t s);
// The second pass of a split launch: out from part_o / part_ml (one block per row and head).
void merge_attention_splits(const AttentionArgs& a, cudaStream_t s);

// ---- decode attention (decode_attention.cu) ----
// Decode-shaped rows (few queries per sequence) on 16-bit caches with head_dim 64 or 128: one
// block per (row, KV head, split) serves the KV head's whole query group, so each cached row is
// read once per query row. Same arguments and split semantics as attention() (num_splits in
// [1, 64], part buffers used when num_splits > 1); the launch has total_q ×
// decode_attention_blocks_per_row(..) × num_splits blocks. Returns false when unsupported.
// kRegisters loads each warp's keys straight into registers (the faster, the default);
// kPipelined streams the block's keys through a 3-stage shared-memory ring with cp.async.
enum class DecodeKernel { kRegisters, kPipelined };
bool decode_attention_supported(CacheType t, int head_dim);
int decode_attention_blocks_per_row(int n_heads, int n_kv_heads);
bool decode_attention(CacheType t, const AttentionArgs& a, DecodeKernel k, cudaStream_t s);

// ---- prefill attention on tensor cores (flash_attention.cu) ----
// Same semantics as attention() (num_splits and the part buffers unused); max_q_len sizes the
// grid. Only for 16-bit caches and head_dim 64 or 128 (flash_attention_supported); returns false
// otherwise. Q and P are rounded to the cache's type (tensor-core inputs), so results differ
// from attention() by about that rounding.
bool flash_attention_supported(CacheType t, int head_dim);
bool flash_attention(CacheType t, const AttentionArgs& a, int max_q_len, cudaStream_t s);

// ---- sampling (sampling.cu): Backend::sample_rows, one block per row ----
void sample_rows(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits, SampledToken* out,
                 cudaStream_t s);

}  // namespace tandem::kernels::cuda
