#include "kernels/cuda/cuda_backend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/launch.h"
#include "kernels/reference/ops.h"
#include "kernels/reference/quant.h"

namespace tandem::kernels {

namespace {

cuda::CacheType cache_type(DType t) {
  switch (t) {
    case DType::kF32: return cuda::CacheType::kF32;
    case DType::kF16: return cuda::CacheType::kF16;
    case DType::kBF16: return cuda::CacheType::kBF16;
    default: CHECK(false, "CUDA KV cache type must be F32, F16 or BF16, got {}", dtype_name(t));
  }
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    CUDA_OK(cudaSetDevice(device_));
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, device_));
    num_sms_ = prop.multiProcessorCount;
    name_ = fmt::format("cuda:{} ({}, sm_{}{})", device_, prop.name, prop.major, prop.minor);
    CUDA_OK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CUBLAS_OK(cublasCreate(&cublas_));
    CUBLAS_OK(cublasSetStream(cublas_, stream_));
    // A workspace of our own keeps cuBLAS from allocating while a step is being captured.
    CUDA_OK(cudaMalloc(&cublas_ws_, kCublasWorkspace));
    CUBLAS_OK(cublasSetWorkspace(cublas_, cublas_ws_, kCublasWorkspace));
    spdlog::info("CUDA backend on {}: {} SMs, {:.1f} GiB", name_, num_sms_,
                 prop.totalGlobalMem / double(1ull << 30));
  }
  ~CudaBackend() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);
    drop_captures();
    for (void* p : owned_) cudaFree(p);
    for (auto& [k, p] : rope_tables_) cudaFree(p);
    cudaFree(bf16_scratch_);
    cudaFree(attn_scratch_);
    cublasDestroy(cublas_);
    cudaFree(cublas_ws_);
    cudaStreamDestroy(stream_);
  }

  const char* name() const override { return name_.c_str(); }
  bool is_device() const override { return true; }
  void* native_stream() const override { return stream_; }
  int device_index() const override { return device_; }
  bool memory_info(size_t* free_bytes, size_t* total_bytes) const override {
    if (device_ != 0) CUDA_OK(cudaSetDevice(device_));
    CUDA_OK(cudaMemGetInfo(free_bytes, total_bytes));
    return true;
  }

  // ---- memory ----
  void* alloc(size_t bytes) override {
    if (bytes == 0) return nullptr;
    CHECK(!capturing_, "{}: alloc of {} bytes while capturing a step; run the step once uncaptured first", name_,
          bytes);
    enter();
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      CHECK(false, "{}: cudaMalloc of {:.1f} MiB failed ({}); {:.1f} of {:.1f} MiB free — lower --kv-slots or "
            "the batch size", name_, bytes / 1048576.0, cudaGetErrorString(e), free_b / 1048576.0,
            total_b / 1048576.0);
    }
    return p;
  }
  void free(void* p) override {
    if (!p) return;
    CHECK(!capturing_, "{}: free while capturing a step", name_);
    enter();
    CUDA_OK(cudaFree(p));
  }
  void copy_to_backend(void* dst, const void* host_src, size_t bytes) override {
    if (!bytes) return;
    enter();
    CUDA_OK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
  }
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override {
    enter();
    if (bytes) CUDA_OK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    CUDA_OK(cudaStreamSynchronize(stream_));
  }
  void copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
               size_t rows) override {
    if (!rows || !row_bytes) return;
    enter();
    CUDA_OK(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, rows, cudaMemcpyDeviceToDevice, stream_));
  }
  void gather_rows(const float* src, int64_t dim, const int32_t* rows, int64_t n, float* dst) override {
    enter();
    cuda::gather_rows(src, dim, rows, n, dst, stream_);
    CUDA_LAUNCHED();
  }
  void add_rows_weighted(const float* src, int64_t dim, const int32_t* dst_rows, const float* weights, int64_t n,
                         float* dst) override {
    if (n <= 0) return;
    enter();
    cuda::add_rows_weighted(src, dim, dst_rows, weights, n, dst, stream_);
    CUDA_LAUNCHED();
  }
  void fill_zero(void* p, size_t bytes) override {
    if (!bytes) return;
    enter();
    CUDA_OK(cudaMemsetAsync(p, 0, bytes, stream_));
  }
  void synchronize() override {
    enter();
    CUDA_OK(cudaStreamSynchronize(stream_));
  }

  // ---- KV rows by slot (worker/pd transfers) ----
  void gather_slots(const void* cache, size_t row_bytes, const int32_t* slots, int64_t n, void* dst) override {
    enter();
    cuda::gather_slots(cache, row_bytes, slots, n, dst, stream_);
    CUDA_LAUNCHED();
  }
  void scatter_slots(void* cache, size_t row_bytes, const int32_t* slots, int64_t n, const void* src) override {
    enter();
    cuda::scatter_slots(cache, row_bytes, slots, n, src, stream_);
    CUDA_LAUNCHED();
  }
  void* alloc_host_pinned(size_t bytes) override {
    if (bytes == 0) return nullptr;
    enter();
    void* p = nullptr;
    const cudaError_t e = cudaMallocHost(&p, bytes);
    CHECK(e == cudaSuccess, "{}: cudaMallocHost of {:.1f} MiB of pinned staging failed ({}); lower the transfer "
          "chunk or raise the locked-memory limit (ulimit -l)", name_, bytes / 1048576.0, cudaGetErrorString(e));
    return p;
  }
  void free_host_pinned(void* p) override {
    if (!p) return;
    enter();
    CUDA_OK(cudaFreeHost(p));
  }

  // ---- step capture ----
  bool supports_capture() const override { return true; }
  void capture_begin() override {
    CHECK(!capturing_, "{}: capture_begin while already capturing", name_);
    enter();
    CUDA_OK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    capturing_ = true;
  }
  int capture_end() override {
    CHECK(capturing_, "{}: capture_end without capture_begin", name_);
    capturing_ = false;
    cudaGraph_t graph = nullptr;
    CUDA_OK(cudaStreamEndCapture(stream_, &graph));
    cudaGraphExec_t exec = nullptr;
    CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_OK(cudaGraphDestroy(graph));
    graphs_.push_back({exec, scratch_generation_});
    return static_cast<int>(graphs_.size()) - 1;
  }
  bool replay(int id) override {
    CHECK(id >= 0 && id < static_cast<int>(graphs_.size()) && graphs_[id].exec, "{}: no live capture {}", name_, id);
    if (graphs_[id].generation != scratch_generation_) {
      CUDA_OK(cudaGraphExecDestroy(graphs_[id].exec));
      graphs_[id].exec = nullptr;
      return false;
    }
    enter();
    CUDA_OK(cudaGraphLaunch(graphs_[id].exec, stream_));
    return true;
  }
  void drop_captures() override {
    if (graphs_.empty()) return;
    cudaStreamSynchronize(stream_);
    for (auto& g : graphs_) {
      if (g.exec) cudaGraphExecDestroy(g.exec);
    }
    graphs_.clear();
  }

  // ---- weights ----
  TensorView upload_matrix(const TensorView& w) override { return upload_linear({w})[0]; }

  std::vector<TensorView> upload_linear(const std::vector<TensorView>& parts) override {
    CHECK(!parts.empty(), "upload_linear: no parts");
    const int64_t cols = parts[0].cols();
    int64_t rows = 0;
    for (const TensorView& p : parts) {
      CHECK(p.shape.size() == 2 && p.cols() == cols, "upload: {} has shape {}, expected [*, {}]", p.name,
            p.shape_string(), cols);
      rows += p.rows();
    }
    auto* dev = static_cast<uint16_t*>(alloc(static_cast<size_t>(rows) * cols * 2));
    owned_.push_back(dev);
    // Dequantize on the host in chunks of about 16M elements, convert to bf16, copy.
    const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 24) / cols);
    std::vector<float> f32;
    std::vector<uint16_t> bf16;
    int64_t out_row = 0;
    for (const TensorView& p : parts) {
      for (int64_t r0 = 0; r0 < p.rows(); r0 += chunk_rows) {
        const int64_t nr = std::min(chunk_rows, p.rows() - r0);
        bf16.resize(static_cast<size_t>(nr * cols));
        if (p.dtype == DType::kBF16) {
          std::memcpy(bf16.data(), p.row(r0), bf16.size() * 2);
        } else {
          f32.resize(static_cast<size_t>(cols));
          for (int64_t r = 0; r < nr; ++r) {
            ref::dequantize_row(p.dtype, p.row(r0 + r), cols, f32.data());
            for (int64_t j = 0; j < cols; ++j) bf16[r * cols + j] = fp32_to_bf16(f32[j]);
          }
        }
        CUDA_OK(cudaMemcpy(dev + (out_row + r0) * cols, bf16.data(), bf16.size() * 2, cudaMemcpyHostToDevice));
      }
      out_row += p.rows();
    }
    TensorView v;
    v.name = parts.size() == 1 ? parts[0].name : parts[0].name + "+";
    v.dtype = DType::kBF16;
    v.shape = {rows, cols};
    v.data = dev;
    v.nbytes = static_cast<size_t>(rows) * cols * 2;
    return {v};
  }

  const float* upload(const float* host, int64_t n) override {
    auto* dev = static_cast<float*>(alloc(n * sizeof(float)));
    owned_.push_back(dev);
    CUDA_OK(cudaMemcpy(dev, host, n * sizeof(float), cudaMemcpyHostToDevice));
    return dev;
  }

  // ---- ops ----
  void matmul(const float* x, int64_t m, const TensorView& w, const float* bias, float* y) override {
    CHECK(w.dtype == DType::kBF16 && w.shape.size() == 2,
          "CUDA matmul: weight {} is {} {}; pass weights through upload_matrix first (bf16 on the device)", w.name,
          dtype_name(w.dtype), w.shape_string());
    if (m <= 0) return;
    enter();
    const int64_t n = w.rows(), k = w.cols();
    uint16_t* xb = bf16_scratch(static_cast<size_t>(m * k));
    cuda::to_bf16(x, m * k, xb, stream_);
    CUDA_LAUNCHED();
    // Row-major y[m, n] = x[m, k] W[n, k]^T is column-major y^T[n, m] = W^T(op T of W[k, n]) x^T.
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_OK(cublasGemmEx(cublas_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                           static_cast<int>(k), &alpha, w.data, CUDA_R_16BF, static_cast<int>(k), xb, CUDA_R_16BF,
                           static_cast<int>(k), &beta, y, CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F,
                           CUBLAS_GEMM_DEFAULT));
    if (bias) {
      cuda::add_bias(y, bias, m, n, stream_);
      CUDA_LAUNCHED();
    }
  }
  void embed(const TensorView& table, const int32_t* ids, int64_t n, float* out) override {
    CHECK(table.dtype == DType::kBF16, "CUDA embed: table {} is {}; pass it through upload_matrix first",
          table.name, dtype_name(table.dtype));
    enter();
    cuda::embed_bf16(static_cast<const uint16_t*>(table.data), table.cols(), ids, n, out, stream_);
    CUDA_LAUNCHED();
  }
  void rms_norm(const float* x, const float* weight, int64_t rows, int64_t dim, float eps, float* out) override {
    enter();
    cuda::rms_norm(x, weight, rows, dim, eps, out, stream_);
    CUDA_LAUNCHED();
  }
  void add_rms_norm(float* residual, const float* x, const float* weight, int64_t rows, int64_t dim, float eps,
                    float* out) override {
    enter();
    cuda::add_rms_norm(residual, x, weight, rows, dim, eps, out, stream_);
    CUDA_LAUNCHED();
  }
  void rope(float* x, const int32_t* positions, int64_t tokens, int n_heads, const RopeConfig& cfg) override {
    CHECK(cfg.rotary_dim > 0 && cfg.rotary_dim % 2 == 0 && cfg.rotary_dim <= cfg.head_dim,
          "rope: rotary_dim {} must be even and in (0, head_dim {}]", cfg.rotary_dim, cfg.head_dim);
    enter();
    cuda::rope(x, positions, tokens, n_heads, cfg.head_dim, cfg.rotary_dim, cfg.neox, rope_table(cfg), stream_);
    CUDA_LAUNCHED();
  }
  void silu_mul(const float* gate_up, int64_t rows, int64_t ff, float* out) override {
    enter();
    cuda::silu_mul(gate_up, rows, ff, out, stream_);
    CUDA_LAUNCHED();
  }
  void add(float* x, const float* y, int64_t n) override {
    enter();
    cuda::add(x, y, n, stream_);
    CUDA_LAUNCHED();
  }
  void store_kv(float* k_cache, float* v_cache, const float* k, const float* v, const int32_t* slots,
                int64_t tokens, int64_t kv_dim) override {
    enter();
    cuda::store_kv(cuda::CacheType::kF32, k_cache, v_cache, k, v, slots, tokens, kv_dim, stream_);
    CUDA_LAUNCHED();
  }
  void attention(const float* q, const float* k_cache, const float* v_cache, const AttentionBatch& batch,
                 float* out) override {
    run_attention(cuda::CacheType::kF32, q, k_cache, v_cache, batch, out);
  }
  void store_kv_half(DType t, void* k_cache, void* v_cache, const float* k, const float* v, const int32_t* slots,
                     int64_t tokens, int64_t kv_dim) override {
    enter();
    cuda::store_kv(cache_type(t), k_cache, v_cache, k, v, slots, tokens, kv_dim, stream_);
    CUDA_LAUNCHED();
  }
  void attention_half(DType t, const float* q, const void* k_cache, const void* v_cache, const AttentionBatch& batch,
                      float* out) override {
    run_attention(cache_type(t), q, k_cache, v_cache, batch, out);
  }
  void sample_rows(float* logits, int64_t vocab, const SampleRow* rows, int64_t n, LogitEdit* edits,
                   SampledToken* out) override {
    enter();
    cuda::sample_rows(logits, vocab, rows, n, edits, out, stream_);
    CUDA_LAUNCHED();
  }

 private:
  void enter() {
    // The current device is per host thread; the engine thread may not be the one that made us.
    if (device_ != 0) CUDA_OK(cudaSetDevice(device_));
  }

  uint16_t* bf16_scratch(size_t elems) {
    if (elems > bf16_elems_) {
      ++scratch_generation_;  // captures that point at the old buffer are stale
      if (bf16_scratch_) free(bf16_scratch_);
      bf16_scratch_ = static_cast<uint16_t*>(alloc(elems * 2));
      bf16_elems_ = elems;
    }
    return bf16_scratch_;
  }

  const double* rope_table(const RopeConfig& c) {
    const auto key = std::make_tuple(c.rotary_dim, c.theta, static_cast<int>(c.scaling), c.factor, c.low_freq_factor,
                                     c.high_freq_factor, c.original_max_positions);
    auto it = rope_tables_.find(key);
    if (it != rope_tables_.end()) return it->second;
    CHECK(!capturing_, "{}: first use of a RoPE configuration while capturing; run the step uncaptured first", name_);
    std::vector<double> freq(static_cast<size_t>(c.rotary_dim / 2));
    ref::rope_frequencies(c, freq.data());
    auto* dev = static_cast<double*>(alloc(freq.size() * sizeof(double)));
    CUDA_OK(cudaMemcpy(dev, freq.data(), freq.size() * sizeof(double), cudaMemcpyHostToDevice));
    rope_tables_.emplace(key, dev);
    return dev;
  }

  void run_attention(cuda::CacheType t, const float* q, const void* k_cache, const void* v_cache,
                     const AttentionBatch& b, float* out) {
    CHECK(b.total_q > 0 && b.max_ctx_len > 0,
          "CUDA attention needs AttentionBatch.total_q and max_ctx_len (host-side launch facts), got {} and {}",
          b.total_q, b.max_ctx_len);
    CHECK(b.n_kv_heads > 0 && b.n_heads % b.n_kv_heads == 0, "attention: {} heads over {} kv heads", b.n_heads,
          b.n_kv_heads);
    enter();
    cuda::AttentionArgs a{};
    a.q = q;
    a.k_cache = k_cache;
    a.v_cache = v_cache;
    a.q_offsets = b.q_offsets;
    a.ctx_lens = b.ctx_lens;
    a.slot_offsets = b.slot_offsets;
    a.slots = b.slots;
    a.num_seqs = b.num_seqs;
    a.total_q = b.total_q;
    a.n_heads = b.n_heads;
    a.n_kv_heads = b.n_kv_heads;
    a.head_dim = b.head_dim;
    a.scale = b.scale;
    a.out = out;
    // Prefill rows on tensor cores where the tiled kernel covers the cache type and head size;
    // small q_len (a few speculative or chunk-tail rows) stays on the per-row kernel. A mixed
    // batch (decode rows first, then prefill chunks) is two launches: the tiled kernel would give
    // every decode row a whole query tile of tensor-core work over its context.
    const bool flash = b.max_q_len >= kFlashMinQ && cuda::flash_attention_supported(t, b.head_dim);
    if (flash && b.num_decode_seqs > 0 && b.num_decode_seqs < b.num_seqs) {
      const int d = b.num_decode_seqs;
      AttentionBatch dec = b;  // q_offsets[0..d] = 0..d: rows 0..d-1
      dec.num_seqs = d;
      dec.total_q = d;
      dec.max_q_len = 1;
      dec.num_decode_seqs = d;
      run_attention(t, q, k_cache, v_cache, dec, out);
      AttentionBatch pre = b;  // offsets stay absolute: the kernels index q, out and slots by them
      pre.q_offsets += d;
      pre.ctx_lens += d;
      pre.slot_offsets += d;
      pre.num_seqs -= d;
      pre.total_q -= d;
      pre.num_decode_seqs = 0;
      run_attention(t, q, k_cache, v_cache, pre, out);
      return;
    }
    if (flash) {
      CHECK(cuda::flash_attention(t, a, b.max_q_len, stream_), "CUDA flash attention launch failed (head_dim {})",
            b.head_dim);
      CUDA_LAUNCHED();
      return;
    }
    // Decode rows of 16-bit caches go to the GQA-sharing kernel (decode_attention.cu), its
    // register-load variant: 78-83% of the copy bandwidth at batch 128-256 on an H200 against
    // 62-67% for the cp.async-pipelined one. TANDEM_ATTN_DECODE=pipelined|legacy picks the other
    // variant or the per-(row, head) kernel (read per call, so a benchmark can time each in one
    // process; a captured step keeps the kernel it was captured with).
    const char* pick_env = std::getenv("TANDEM_ATTN_DECODE");
    const std::string_view pick = pick_env ? pick_env : "";
    const bool fast = cuda::decode_attention_supported(t, b.head_dim) && pick != "legacy";
    const cuda::DecodeKernel kind =
        pick == "pipelined" ? cuda::DecodeKernel::kPipelined : cuda::DecodeKernel::kRegisters;
    // Split-KV when the blocks of the launch give fewer than ~4 per SM; each split keeps at least
    // min_chunk keys. max_ctx_len may be a bound (captured steps round it up): the kernels divide
    // each row's own keys evenly over the splits, so the split count is all that the bound fixes.
    const int64_t blocks =
        static_cast<int64_t>(b.total_q) * (fast ? cuda::decode_attention_blocks_per_row(b.n_heads, b.n_kv_heads)
                                                : b.n_heads);
    const int min_chunk = fast ? kDecodeMinChunk : kMinChunk;
    const int64_t want = 4ll * num_sms_;
    int splits = 1;
    if (blocks < want) {
      const int64_t by_keys = (b.max_ctx_len + min_chunk - 1) / min_chunk;
      splits = static_cast<int>(std::min<int64_t>((want + blocks - 1) / blocks, by_keys));
      splits = std::clamp(splits, 1, cuda::kMaxAttentionSplits);
    }
    a.num_splits = splits;
    a.min_chunk = min_chunk;
    if (splits > 1) {
      const int64_t rows_heads = static_cast<int64_t>(b.total_q) * b.n_heads;
      const size_t need = static_cast<size_t>(rows_heads) * splits * (b.head_dim + 2) * sizeof(float);
      if (need > attn_bytes_) {
        ++scratch_generation_;
        if (attn_scratch_) free(attn_scratch_);
        attn_scratch_ = static_cast<float*>(alloc(need));
        attn_bytes_ = need;
      }
      a.part_o = attn_scratch_;
      a.part_ml = attn_scratch_ + static_cast<size_t>(rows_heads) * splits * b.head_dim;
    }
    if (fast) {
      CHECK(cuda::decode_attention(t, a, kind, stream_),
            "CUDA decode attention launch failed (head_dim {}, {} splits)", b.head_dim, splits);
    } else {
      CHECK(cuda::attention(t, a, stream_), "CUDA attention: head_dim {} is not supported (at most 256)",
            b.head_dim);
    }
    CUDA_LAUNCHED();
  }

  static constexpr size_t kCublasWorkspace = size_t{32} << 20;
  static constexpr int kFlashMinQ = 16;  // max_q_len from which prefill attention uses tensor cores
  static constexpr int kMinChunk = 32;   // fewest keys per split of the per-(row, head) kernel
  // Fewest keys per split of the GQA decode kernel: two iterations of its 4 warps × 8 keys.
  static constexpr int kDecodeMinChunk = 64;
  struct Capture {
    cudaGraphExec_t exec;
    uint64_t generation;
  };

  int device_;
  int num_sms_ = 0;
  void* cublas_ws_ = nullptr;
  bool capturing_ = false;
  uint64_t scratch_generation_ = 0;
  std::vector<Capture> graphs_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::vector<void*> owned_;
  std::map<std::tuple<int, float, int, float, float, float, int>, double*> rope_tables_;
  uint16_t* bf16_scratch_ = nullptr;
  size_t bf16_elems_ = 0;
  float* attn_scratch_ = nullptr;
  size_t attn_bytes_ = 0;
};

}  // namespace

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return 0;
  }
  return n;
}

StatusOr<std::unique_ptr<Backend>> make_cuda_backend(int device_index) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return failed_precondition_error("no usable CUDA device: cudaGetDeviceCount failed with '{}' (is the NVIDIA "
                                     "driver installed and a GPU visible?); use --device cpu",
                                     cudaGetErrorString(e));
  }
  if (device_index < 0 || device_index >= n) {
    return failed_precondition_error("CUDA device {} does not exist: {} device(s) visible", device_index, n);
  }
  return std::unique_ptr<Backend>(new CudaBackend(device_index));
}

}  // namespace tandem::kernels
