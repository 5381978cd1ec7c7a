// The device-neutral kernel interface. The model forward (worker/model) is written once against
// it; kernels/cpu implements it with SIMD + threads, kernels/cuda will implement it on GPUs.
// Kernels know nothing about requests: sequences arrive as flat offset arrays.
//
// Conventions
// - Activations are row-major float32 [rows, cols]; pointers are the backend's memory (host for
//   CPU, device for CUDA), allocated through alloc(). Weights are TensorViews ([out, in] for linear
//   layers) in any DType of common/dtype.h, passed through upload_matrix() once at load; norm
//   weights and biases through upload().
// - Every pointer an op takes (index arrays too) is backend memory. The model copies a step's
//   index arrays in once (copy_to_backend) and its logit rows out once (copy_to_host).
// - KV cache of one layer: k_cache, v_cache each [num_slots, n_kv_heads * head_dim] float32.
//   A sequence's context is a list of slot indices (its page table flattened to tokens).
// Thread model: a Backend is used by one thread at a time (the engine thread); it may use its own
// worker threads inside each call. Calls are synchronous on CPU; on a device they are queued in
// order on one stream, and copy_to_host / synchronize wait for everything queued before them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/status.h"
#include "common/tensor_view.h"
#include "kernels/sample_rows.h"

namespace tandem::kernels {

enum class RopeScaling { kNone, kLinear, kLlama3 };

struct RopeConfig {
  int head_dim = 0;
  int rotary_dim = 0;      // dimensions rotated per head (== head_dim for the Llama family)
  float theta = 10000.0f;  // base frequency
  // neox = true: pairs (i, i + rotary_dim/2) ("rotate_half", HF layout, Qwen in GGUF);
  // neox = false: adjacent pairs (2i, 2i+1) (GGUF Llama, whose q/k weights were permuted).
  bool neox = true;
  RopeScaling scaling = RopeScaling::kNone;
  float factor = 1.0f;             // linear and llama3
  float low_freq_factor = 1.0f;    // llama3
  float high_freq_factor = 4.0f;   // llama3
  int original_max_positions = 8192;  // llama3
};

// Ragged batch of sequences for attention. Sequence s contributes new query rows
// [q_offsets[s], q_offsets[s+1]) of q; its full context (cached tokens followed by the new ones,
// already stored with store_kv) has ctx_lens[s] tokens whose slots are
// slots[slot_offsets[s] .. slot_offsets[s] + ctx_lens[s]). Query row i of sequence s sits at
// position ctx_lens[s] - q_len + i and attends causally to context positions [0, that position].
struct AttentionBatch {
  int num_seqs = 0;
  const int32_t* q_offsets = nullptr;     // [num_seqs + 1]
  const int32_t* ctx_lens = nullptr;      // [num_seqs]
  const int32_t* slot_offsets = nullptr;  // [num_seqs + 1]
  const int32_t* slots = nullptr;         // [slot_offsets[num_seqs]]
  int n_heads = 0;
  int n_kv_heads = 0;  // n_heads % n_kv_heads == 0 (GQA: head h reads kv head h / (n_heads/n_kv_heads))
  int head_dim = 0;
  float scale = 1.0f;  // usually 1/sqrt(head_dim)
  // Host-side facts for launch shapes (a device backend cannot read the arrays above without a
  // copy back). 0 means unknown: backends that need them then CHECK-fail.
  int total_q = 0;      // q_offsets[num_seqs]
  int max_q_len = 0;    // max over s of q_offsets[s+1] - q_offsets[s]
  int max_ctx_len = 0;  // max over s of ctx_lens[s]
  // How many leading sequences have exactly one query row (decode rows ahead of prefill chunks, as
  // the scheduler plans them); 0 = unknown. A device backend may run those on its decode kernel
  // and only the rest on its prefill kernel.
  int num_decode_seqs = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // ---- Memory. The CPU versions are plain host memory and memcpy. ----
  // True when the backend's memory is not host memory (callers must copy_to_host to read it).
  virtual bool is_device() const { return false; }
  // Uninitialized backend memory, 256-byte aligned; nullptr when bytes == 0. CHECK-fails when out
  // of memory (the message says how much was asked and how much is free).
  virtual void* alloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    CHECK(p != nullptr, "backend {}: out of host memory allocating {} bytes", name(), bytes);
    return p;
  }
  virtual void free(void* p) { std::free(p); }
  virtual void copy_to_backend(void* dst, const void* host_src, size_t bytes) {
    if (bytes) std::memcpy(dst, host_src, bytes);
  }
  // Waits for all queued work before copying, so dst is ready on return.
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) {
    if (bytes) std::memcpy(host_dst, src, bytes);
  }
  // Strided 2-D copy inside backend memory: rows of `row_bytes` from src (pitch src_pitch) to dst
  // (pitch dst_pitch). Used to split fused q|k|v rows and to gather unfused linear parts.
  virtual void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                       size_t rows) {
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch,
                  row_bytes);
    }
  }
  // dst[i, :] = src[rows[i], :] for float rows of `dim` values; rows is backend memory.
  virtual void gather_rows(const float* src, int64_t dim, const int32_t* rows, int64_t n, float* dst) {
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * dim, src + rows[i] * dim, dim * sizeof(float));
  }
  virtual void synchronize() {}
  // The backend's native work queue (a cudaStream_t for CUDA) and device index, for libraries that
  // must order their work with the backend's kernels (NCCL collectives). Host backends: nullptr, -1.
  virtual void* native_stream() const { return nullptr; }
  virtual int device_index() const { return -1; }
  // Free and total bytes of a device's memory (KV caches are sized from them); false on the host.
  virtual bool memory_info(size_t* free_bytes, size_t* total_bytes) const {
    (void)free_bytes, (void)total_bytes;
    return false;
  }

  // ---- Step capture (CUDA graphs). The caller records a whole forward step once and replays it;
  // replays see new *values* in the same buffers, never new pointers or shapes. ----
  virtual bool supports_capture() const { return false; }
  // Ops between capture_begin and capture_end are recorded, not run. No alloc/free in between
  // (CHECKed): run the step once uncaptured first so every scratch buffer has its size.
  virtual void capture_begin() { CHECK(false, "backend {} cannot capture steps", name()); }
  // Returns the capture's id for replay.
  virtual int capture_end() { return -1; }
  // Queues the captured step. False when the capture is stale (the backend reallocated scratch
  // that it points at): drop the id and capture again.
  virtual bool replay(int id) {
    (void)id;
    return false;
  }
  // Frees every capture (the caller's buffers are about to move).
  virtual void drop_captures() {}

  // ---- Weights, once at load. The returned memory lives as long as the backend. ----
  // A matrix in the form this backend's matmul / embed want. The CPU returns `w` itself (a view
  // into the mapped file); CUDA dequantizes to bf16 on the device. Several parts (rows of one
  // linear layer stored in different DTypes) come back as one matrix when the backend can fuse
  // them (CUDA), else unchanged.
  virtual std::vector<TensorView> upload_linear(const std::vector<TensorView>& parts) { return parts; }
  virtual TensorView upload_matrix(const TensorView& w) { return w; }
  // float vectors (norm weights, biases): the CPU returns `host` itself.
  virtual const float* upload(const float* host, int64_t n) {
    (void)n;
    return host;
  }

  // y[m, n] = x[m, k] . W[n, k]^T (+ bias[n] when bias != nullptr). W in any supported DType.
  virtual void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y) = 0;

  // out[i, :] = table[ids[i], :] dequantized to float32. table is [vocab, dim] in any DType.
  // ids[i] == -1 gives a zero row: the token belongs to another rank's vocabulary shard (the
  // tensor-parallel embedding sums the ranks' rows).
  virtual void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out) = 0;

  // out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * weight   (x == out allowed)
  virtual void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                        float* out) = 0;
  // residual[r] += x[r]; out[r] = rms_norm(residual[r])   (fused; x == out allowed)
  virtual void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows,
                            int64_t dim, float eps, float* out) = 0;

  // In-place rotary embedding of x [tokens, n_heads * head_dim] at positions[tokens].
  virtual void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads,
                    const RopeConfig& cfg) = 0;

  // out[r, j] = silu(gate_up[r, j]) * gate_up[r, ff + j] for gate_up [rows, 2*ff], out [rows, ff].
  virtual void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out) = 0;

  // x[i] += y[i] for i < n.
  virtual void add(float* x, const float* y, int64_t n) = 0;

  // Writes k, v rows [tokens, kv_dim] into the caches at slots[tokens].
  virtual void store_kv(float* k_cache, float* v_cache, const float* k, const float* v,
                        const int32_t* slots, int64_t tokens, int64_t kv_dim) = 0;

  // out [total_q_rows, n_heads * head_dim] = softmax(q k^T * scale, causal) v over paged KV.
  virtual void attention(const float* q, const float* k_cache, const float* v_cache,
                         const AttentionBatch& batch, float* out) = 0;

  // Half-precision KV caches (added by the kernels work; the float versions above are unchanged):
  // k_cache / v_cache hold `cache_type` elements (DType::kF16 or kBF16), same [num_slots, kv_dim]
  // layout and semantics as store_kv / attention. Rows are rounded to nearest-even on store.
  // Half caches halve the bytes decode attention streams per context token, which is what
  // bounds batched decode at long contexts on a CPU. Backends without them CHECK-fail.
  virtual void store_kv_half(DType cache_type, void* k_cache, void* v_cache, const float* k, const float* v,
                             const int32_t* slots, int64_t tokens, int64_t kv_dim) {
    (void)cache_type, (void)k_cache, (void)v_cache, (void)k, (void)v, (void)slots, (void)tokens, (void)kv_dim;
    CHECK(false, "backend {} does not support half-precision KV caches", name());
  }
  virtual void attention_half(DType cache_type, const float* q, const void* k_cache, const void* v_cache,
                              const AttentionBatch& batch, float* out) {
    (void)cache_type, (void)q, (void)k_cache, (void)v_cache, (void)batch, (void)out;
    CHECK(false, "backend {} does not support half-precision KV caches", name());
  }

  // ---- Mixture-of-experts row plumbing (worker/model/moe_block.cc). All pointers backend memory.
  // dst[dst_rows[i], :] += weights[i] * src[i, :] for i < n, rows of `dim` floats. The dst_rows of
  // one call are distinct (callers split repeats into several calls), so additions to a row happen
  // in the callers' order and results do not depend on the backend's scheduling.
  virtual void add_rows_weighted(const float* src, int64_t dim, const int32_t* dst_rows, const float* weights,
                                 int64_t n, float* dst) {
    for (int64_t i = 0; i < n; ++i) {
      float* o = dst + static_cast<int64_t>(dst_rows[i]) * dim;
      const float* x = src + i * dim;
      for (int64_t d = 0; d < dim; ++d) o[d] += weights[i] * x[d];
    }
  }
  virtual void fill_zero(void* p, size_t bytes) {
    if (bytes) std::memset(p, 0, bytes);
  }

  // ---- Sampling where the logits are (kernels/sample_rows.h has the semantics). logits
  // [rows, vocab], rows, edits and out are backend memory; the edits' `raw` fields are written and
  // the edited rows keep their edits. A device backend returns only what `out` holds to the host.
  virtual void sample_rows(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits,
                           SampledToken* out) {
    sample_rows_host(logits, vocab, rows, n, edits, out);
  }

  // ---- KV rows by slot for disaggregated transfers (worker/pd). ----
  // A cache array is [num_slots, row_bytes] raw bytes (any cache type); slots[n] is backend memory.
  // gather_slots: dst[i, :] = cache[slots[i], :] (dst packed [n, row_bytes], backend memory).
  // scatter_slots: cache[slots[i], :] = src[i, :]; slots must be distinct (else which row lands
  // is unspecified). Queued like every op: copy_to_host / synchronize wait for them.
  virtual void gather_slots(const void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* dst) {
    const auto* c = static_cast<const char*>(cache);
    auto* d = static_cast<char*>(dst);
    for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * row_bytes, c + static_cast<size_t>(slots[i]) * row_bytes, row_bytes);
  }
  virtual void scatter_slots(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, const void* src) {
    auto* c = static_cast<char*>(cache);
    const auto* s = static_cast<const char*>(src);
    for (int64_t i = 0; i < n; ++i) std::memcpy(c + static_cast<size_t>(slots[i]) * row_bytes, s + i * row_bytes, row_bytes);
  }
  // Host staging for copy_to_host / copy_to_backend of transfer rows. A device backend returns
  // page-locked memory (device copies from it run at the full bus rate, without a bounce buffer);
  // host backends plain memory. nullptr when bytes == 0; CHECK-fails when out of memory.
  virtual void* alloc_host_pinned(size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = std::malloc(bytes);
    CHECK(p != nullptr, "backend {}: out of host memory allocating {} bytes of staging", name(), bytes);
    return p;
  }
  virtual void free_host_pinned(void* p) { std::free(p); }
};

// CPU backend: AVX-512 or AVX2 kernels chosen at run time (scalar fallback), num_threads <= 0
// means all hardware threads. TANDEM_CPU_ISA=avx2|avx512|scalar forces a level (tests, benches).
std::unique_ptr<Backend> make_cpu_backend(int num_threads);

// "cpu" or "cuda" / "cuda:N" (device index N, default 0). CPU threads as make_cpu_backend.
// Fails with a clear message when the build has no CUDA backend or no GPU is usable.
StatusOr<std::unique_ptr<Backend>> make_backend(const std::string& device, int cpu_threads);
// True when this binary was built with the CUDA backend.
bool cuda_backend_built();

// RAII backend memory (engine thread only; the backend must outlive it).
class BackendBuffer {
 public:
  BackendBuffer() = default;
  BackendBuffer(Backend& be, size_t bytes) : be_(&be), bytes_(bytes), p_(be.alloc(bytes)) {}
  BackendBuffer(BackendBuffer&& o) noexcept : be_(o.be_), bytes_(o.bytes_), p_(o.p_) { o.p_ = nullptr; }
  BackendBuffer& operator=(BackendBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      be_ = o.be_, bytes_ = o.bytes_, p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  BackendBuffer(const BackendBuffer&) = delete;
  BackendBuffer& operator=(const BackendBuffer&) = delete;
  ~BackendBuffer() { reset(); }

  void reset() {
    if (p_) be_->free(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  void* get() const { return p_; }
  template <typename T>
  T* as() const {
    return static_cast<T*>(p_);
  }
  size_t bytes() const { return bytes_; }

 private:
  Backend* be_ = nullptr;
  size_t bytes_ = 0;
  void* p_ = nullptr;
};

}  // namespace tandem::kernels
